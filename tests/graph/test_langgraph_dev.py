"""`langgraph dev` serves the graph factory named in langgraph.json; three runs (two threads, one
of them twice) are driven through the LangGraph SDK (the API Studio and deployments use), on a
scripted task with fake model servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from langgraph_sdk import get_client
from support.configs import fake_role, write_config
from support.fakes import HELPFUL, student_http_reply, teacher_http_reply

from concept_distill.testing import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.anyio]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"langgraph dev exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"langgraph dev did not start: {log.read_text()[-2000:]}")


async def stream_run(
    client: Any, thread_id: str
) -> tuple[list[dict[str, Any]], list[Any], dict[str, Any]]:
    """One run on a thread, streamed: node updates, custom events, final values."""
    updates: list[dict[str, Any]] = []
    custom: list[Any] = []
    final: dict[str, Any] = {}
    async for part in client.runs.stream(
        thread_id, "concept_distill", input={}, stream_mode=["updates", "custom", "values"]
    ):
        if part.event == "updates":
            updates.append(part.data)
        elif part.event == "custom":
            custom.append(part.data)
        elif part.event == "values":
            final = part.data
    return updates, custom, final


async def test_langgraph_dev_runs_the_graph_through_the_sdk(tmp_path: Path) -> None:
    async with (
        FakeOpenAIServer(reply=student_http_reply) as student,
        FakeOpenAIServer(reply=teacher_http_reply()) as teacher,
    ):
        path = write_config(
            tmp_path,
            splits={"seed": 5, "train": 8, "validation": 12, "test": 10},
            models={
                "student": fake_role(student.base_url, "s"),
                "teacher": fake_role(teacher.base_url, "t"),
            },
            loop={"max_iterations": 1},
            run_dir=str(tmp_path / "runs"),
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = tmp_path / "langgraph-dev.log"
        env = {**os.environ, "CONCEPT_DISTILL_CONFIG": str(path), "LANGGRAPH_CLI_NO_ANALYTICS": "1",
               "LANGSMITH_TRACING": "false"}  # fmt: skip
        langgraph = Path(sys.executable).parent / "langgraph"
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: ASYNC220 (a server, started once)
                [str(langgraph), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1",
                 "--port", str(port)],
                cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            await anyio.to_thread.run_sync(wait_ready, url, process, log)
            client = get_client(url=url)
            first_thread = (await client.threads.create())["thread_id"]
            second_thread = (await client.threads.create())["thread_id"]
            runs = [
                await stream_run(client, first_thread),
                await stream_run(client, second_thread),
                # A new input on a finished thread: a fresh run in a fresh directory.
                await stream_run(client, first_thread),
            ]
        finally:
            process.terminate()
            process.wait(timeout=30)
    updates, custom, final = runs[0]
    nodes = [name for update in updates for name in update]
    for node in (
        "prepare",
        "initialize",
        "select",
        "induce",
        "validate",
        "update",
        "audit",
        "test",
        "report",
    ):
        assert node in nodes, f"{node} missing from the streamed updates: {nodes}"
    assert any(event.get("event") == "phase" for event in custom)
    assert any(event.get("event") == "rule_decided" for event in custom)
    run_dirs = set()
    for _, _, final in runs:
        assert HELPFUL in final["optimized_prompt"]
        assert final["metrics"]["test_accuracy_final"] == 1.0
        assert [rule["status"] for rule in final["rules"]] == ["accepted"]
        run_dirs.add(final["run_dir"])
    assert len(run_dirs) == 3, "every run has its own directory"
    reports = [final["report_path"] for _, _, final in runs]
    assert await anyio.to_thread.run_sync(lambda: all(Path(p).is_file() for p in reports))
