"""With LANGSMITH_TRACING=true, every node and model call reaches LangSmith (here a loopback
stand-in for its API) with tags and metadata for phase, iteration and rule; no secret leaks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from aiohttp import web
from support.configs import fake_role, write_config
from support.fakes import student_http_reply, teacher_http_reply

from concept_distill.testing import FakeOpenAIServer


class FakeLangSmith:
    """Records every request the LangSmith SDK makes."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        if request.path.endswith("/info"):
            return web.json_response({"version": "0.0.0", "batch_ingest_config": {}})
        return web.json_response({})

    async def __aenter__(self) -> FakeLangSmith:
        app = web.Application(client_max_size=1 << 26)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        server: object = site._server
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"  # type: ignore[attr-defined]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


@pytest.mark.anyio
async def test_runs_arrive_with_tags_and_no_secret(tmp_path: Path) -> None:
    model_key = "sk-test-" + os.urandom(8).hex()
    tracing_key = "lsv2-test-" + os.urandom(8).hex()
    async with (
        FakeOpenAIServer(reply=student_http_reply, api_key=model_key) as student,
        FakeOpenAIServer(reply=teacher_http_reply(), api_key=model_key) as teacher,
        FakeLangSmith() as langsmith,
    ):
        path = write_config(
            tmp_path,
            splits={"seed": 5, "train": 6, "validation": 10, "test": 6},
            models={
                "student": fake_role(student.base_url, "s", api_key_env="MY_KEY"),
                "teacher": fake_role(teacher.base_url, "t", api_key_env="MY_KEY"),
            },
            loop={"max_iterations": 1},
        )
        env = {**os.environ, "MY_KEY": model_key, "LANGSMITH_TRACING": "true",
               "LANGSMITH_ENDPOINT": langsmith.url, "LANGSMITH_API_KEY": tracing_key,
               "LANGSMITH_PROJECT": "concept-distill-test"}  # fmt: skip
        done = await anyio.run_process(
            [sys.executable, "-m", "concept_distill.cli", "run", str(path),
             "--run-dir", str(tmp_path / "run")],
            env=env, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    payload = b"\n".join(langsmith.bodies)
    assert len(langsmith.bodies) > 1, "no run reached the LangSmith endpoint"
    for expected in (b"phase:validate", b"phase:initialize", b"rule_id", b"r1-0-1",
                     b"concept-distill", b"langgraph_node", b"ChatOpenAI"):  # fmt: skip
        assert expected in payload, expected
    assert model_key.encode() not in payload
    assert tracing_key.encode() not in payload
    for name in ("run.log", "config.yaml", "spend.json", "metrics.json"):
        assert model_key not in (tmp_path / "run" / name).read_text()
