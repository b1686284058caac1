"""`main(argv) -> int`: exit statuses, one-line errors, and no lasting side effect."""

from __future__ import annotations

import os
import signal

import pytest

import concept_distill.cli.common
from concept_distill.cli import main


def test_help_is_0_and_the_sigterm_handler_is_given_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    assert main(["--help"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
    out = capsys.readouterr().out
    for command in ("run", "eval", "report", "sandbox", "cache", "models"):
        assert f"  {command} " in out, command


def test_a_bad_invocation_is_exit_2_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"]) == 2
    assert (
        capsys.readouterr().err
        == "concept-distill: error: give a CONFIG file, or --resume RUN_DIR\n"
    )


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err


def test_sigterm_mid_command_is_exit_130_with_a_line_saying_how_to_go_on(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*_args: object) -> None:
        os.kill(os.getpid(), signal.SIGTERM)  # `kill PID` while the command works

    monkeypatch.setattr(concept_distill.cli.common, "load_cli_config", killed)
    assert main(["tips", "config.yaml"]) == 130
    err = capsys.readouterr().err
    assert err.startswith("concept-distill: interrupted; ") and err.count("\n") == 1
    assert "--resume" in err
