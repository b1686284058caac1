from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from concept_distill.local.__main__ import main
from concept_distill.local.cli import app
from concept_distill.local.server import free_port


@pytest.fixture
def no_server_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONCEPT_DISTILL_LLAMA_SERVER", raising=False)


def test_unknown_model_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fetch", "--model", "gpt-5", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("concept-distill models: error: unknown local model 'gpt-5'")
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.usefixtures("no_server_override")
def test_serve_without_binary_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--model", "smollm2-135m", "--cache-dir", str(tmp_path)]) == 2
    assert "make local-models" in capsys.readouterr().err


@pytest.mark.usefixtures("no_server_override")
def test_doctor_on_an_empty_cache_reports_what_is_missing(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["doctor", "--json", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["binary"]["ok"] is False and "build-server" in report["binary"]["hint"]
    assert {m["key"]: m["present"] for m in report["models"]} == {
        "smollm2-135m": False,
        "qwen2.5-coder-0.5b": False,
        "qwen2.5-coder-1.5b": False,
    }
    assert "fetch --model smollm2-135m" in report["models"][0]["hint"]


@pytest.mark.usefixtures("no_server_override")
def test_doctor_table_names_each_check(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["doctor", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 1
    for word in ("llama-server", "MISSING", "smollm2-135m", "missing"):
        assert word in result.stdout


@pytest.mark.slow
def test_doctor_probe_and_endpoint_with_the_real_cache(local_server: Any) -> None:
    result = CliRunner().invoke(
        app, ["doctor", "--json", "--no-verify", "--probe", "--base-url", local_server.base_url]
    )
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report
    assert [e["reachable"] for e in report["endpoints"]] == [True, True]
    assert local_server.model in report["endpoints"][0]["models"]


@pytest.mark.slow
def test_serve_prints_base_url_and_stops_on_ctrl_c() -> None:
    port = free_port()
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "concept_distill.local",
            "serve",
            "-m",
            "smollm2-135m",
            "--parallel",
            "1",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        first = serve.stdout.readline().strip()
        assert first == f"base_url: http://127.0.0.1:{port}/v1"
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
        serve.send_signal(signal.SIGINT)
        assert serve.wait(timeout=30) == 0
    finally:
        serve.kill()
    time.sleep(0.2)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
