"""`--set key=value` overrides, applied by `load_config` before the config tree validates."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.configs import write_config

from concept_distill.config import load_config
from concept_distill.errors import ConfigError
from concept_distill.models import ModelConfig


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return write_config(tmp_path, loop={"max_iterations": 3, "patience": 2}, concurrency=4)


def test_an_override_replaces_a_nested_value_and_keeps_its_siblings(path: Path) -> None:
    config = load_config(path, ["loop.max_iterations=7"])
    assert config.loop.max_iterations == 7
    assert config.loop.patience == 2  # from the file, untouched
    assert load_config(path).loop.max_iterations == 3  # the file itself is not changed


def test_an_override_may_create_a_section_the_file_does_not_have(path: Path) -> None:
    config = load_config(path, ["budget.student_calls=60", "splits.exclude.last=2"])
    assert config.budget.student_calls == 60
    assert config.splits.exclude.last == 2


def test_values_are_parsed_as_yaml(path: Path) -> None:
    config = load_config(
        path,
        [
            "loop.teacher_solves_first=true",  # bool
            "loop.chars_per_token=2.5",  # float
            "budget.cost_usd=null",  # None
            "splits.exclude.ids=[a, b]",  # list
            "models.student={base_url: 'http://127.0.0.1:9/v1', model: m}",  # mapping
            "prompt.base='Be brief: answer with a number.'",  # quoted: a colon stays text
        ],
    )
    assert config.loop.teacher_solves_first is True
    assert config.loop.chars_per_token == 2.5
    assert config.budget.cost_usd is None
    assert config.splits.exclude.ids == ["a", "b"]
    assert isinstance(config.models.student, ModelConfig)
    assert config.models.student.model == "m"
    assert config.prompt.base == "Be brief: answer with a number."


def test_only_the_first_equals_sign_splits_key_from_value(path: Path) -> None:
    assert load_config(path, ["prompt.base=x=1 is a rule"]).prompt.base == "x=1 is a rule"
    assert load_config(path, ["prompt.base="]).prompt.base == ""


def test_later_overrides_win(path: Path) -> None:
    config = load_config(path, ["concurrency=2", "concurrency=5"])
    assert config.concurrency == 5


def test_a_key_through_a_value_that_is_not_a_section_is_refused(path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--set concurrency\.x: concurrency is not a section$"):
        load_config(path, ["concurrency.x=1"])
    with pytest.raises(ConfigError, match="name is not a section"):
        load_config(path, ["task.name.x=1"])


def test_malformed_overrides_are_config_errors(path: Path) -> None:
    with pytest.raises(ConfigError, match="--set expects key=value"):
        load_config(path, ["concurrency"])
    with pytest.raises(ConfigError, match="--set expects key=value"):
        load_config(path, ["=3"])
    with pytest.raises(ConfigError, match=r"--set concurrency: .*bad YAML"):
        load_config(path, ["concurrency=[1"])
    # A value the tree refuses, or a key it does not know, names the field.
    with pytest.raises(ConfigError, match="concurrency"):
        load_config(path, ["concurrency=0"])
    with pytest.raises(ConfigError, match="nope"):
        load_config(path, ["loop.nope=1"])
    with pytest.raises(ConfigError, match="teacher_solves_first"):
        load_config(path, ["loop.teacher_solves_first=[1, 2]"])


def test_bare_fallback_without_illustrated_rules_is_refused_in_one_line(path: Path) -> None:
    # Bare rules carry no illustration to drop, so the option would silently do nothing.
    with pytest.raises(ConfigError, match=r"loop: bare_fallback needs rule_form: illustrated"):
        load_config(path, ["loop.bare_fallback=true"])
    config = load_config(path, ["loop.bare_fallback=true", "loop.rule_form=illustrated"])
    assert config.loop.bare_fallback and config.loop.rule_form == "illustrated"
