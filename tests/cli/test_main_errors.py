"""`main` prints one of our errors in one line even when a task group wrapped it."""

from __future__ import annotations

import pytest

from concept_distill import cli
from concept_distill.errors import ConfigError, ModelError


def test_an_error_inside_an_exception_group_is_one_line_with_its_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def raise_group(**_: object) -> None:
        raise ExceptionGroup("task group", [ModelError("teacher at http://x failed: 403")])

    monkeypatch.setattr(cli, "_register_subcommands", lambda: None)
    monkeypatch.setattr(cli, "app", raise_group)
    assert cli.main([]) == 1
    assert capsys.readouterr().err == "concept-distill: error: teacher at http://x failed: 403\n"

    def raise_config(**_: object) -> None:
        raise ExceptionGroup("outer", [ExceptionGroup("inner", [ConfigError("models.student")])])

    monkeypatch.setattr(cli, "app", raise_config)
    assert cli.main([]) == 2


def test_a_group_without_our_error_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    def raise_bug(**_: object) -> None:
        raise ExceptionGroup("task group", [RuntimeError("a bug")])

    monkeypatch.setattr(cli, "_register_subcommands", lambda: None)
    monkeypatch.setattr(cli, "app", raise_bug)
    with pytest.raises(ExceptionGroup):
        cli.main([])
