from __future__ import annotations

import json
from pathlib import Path

import pytest

from concept_distill.errors import ConfigError
from concept_distill.records import Example
from concept_distill.tasks import JsonlFields, SplitConfig, build_task, make_splits
from concept_distill.tasks.splits import split_assignment

EXAMPLES = [Example(id=f"e{i}", question=f"q{i}", answer=str(i)) for i in range(50)]


def test_splits_are_deterministic_disjoint_and_sized() -> None:
    config = SplitConfig(seed=3, train=10, validation=0.2, test=15)
    first = split_assignment(make_splits(EXAMPLES, config))
    again = split_assignment(make_splits(list(reversed(EXAMPLES)), config))
    assert first == again
    assert [len(first[name]) for name in ("train", "validation", "test")] == [10, 10, 15]
    ids = first["train"] + first["validation"] + first["test"]
    assert len(set(ids)) == len(ids)
    other = split_assignment(make_splits(EXAMPLES, config.model_copy(update={"seed": 4})))
    assert other != first


def test_limit_takes_a_subset_before_cutting() -> None:
    config = SplitConfig(seed=0, train=0.5, validation=0.25, test=0.25, limit=8)
    splits = make_splits(EXAMPLES, config)
    assert sum(len(v) for v in splits.values()) == 8


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (SplitConfig(train=40, validation=10, test=10), "need 60 examples"),
        (SplitConfig(train=0.9, validation=0.01, test=0.05), "validation split is empty"),
    ],
)
def test_impossible_splits_are_config_errors(config: SplitConfig, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_splits(EXAMPLES, config)


def test_fractions_over_one_are_rejected() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        SplitConfig(train=0.5, validation=0.4, test=0.3)


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(ConfigError, match="duplicate"):
        make_splits([*EXAMPLES, EXAMPLES[0]], SplitConfig())


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def test_jsonl_bad_data_names_file_and_line(tmp_path: Path) -> None:
    good = json.dumps({"input": "2+2?", "answer": "4"})
    cases = {
        "bad.jsonl": ([good, "{oops"], "bad.jsonl line 2: bad JSON"),
        "missing.jsonl": (
            [good, json.dumps({"input": "x"})],
            "missing.jsonl line 2: missing field: answer",
        ),
        "empty.jsonl": ([""], "no examples"),
    }
    for name, (lines, message) in cases.items():
        task = build_task("jsonl", path=write(tmp_path / name, lines))
        with pytest.raises(ConfigError, match=message):
            task.load()


def test_math_bad_data_is_a_one_line_error(tmp_path: Path) -> None:
    path = write(tmp_path / "g.jsonl", [json.dumps({"question": "q", "answer": "no hashes"})])
    with pytest.raises(ConfigError, match="line 1: the answer has no '#### N' line"):
        build_task("gsm8k", path=path).load()
    with pytest.raises(ConfigError, match="data file not found"):
        build_task("multiarith", data_dir=tmp_path).load()


def test_jsonl_scorers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_scorers.py").write_text(
        "def startswith_p(example, reply):\n"
        "    return (True, '') if reply.startswith('P') else (False, 'does not start with P')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    rows = [
        {"q": "Capital of France?", "a": "Paris", "pattern": r"\bParis\b", "n": "0.5"},
    ]
    path = write(tmp_path / "d.jsonl", [json.dumps(row) for row in rows])
    fields = JsonlFields(input="q", answer="a")
    exact = build_task("jsonl", path=path, fields=fields, scorer="exact")
    example = exact.load()[0]
    assert exact.score(example, exact.extract(example, "Hmm.\nThe answer is: paris.") or "")[0]
    assert not exact.score(example, exact.extract(example, "Lyon") or "")[0]
    regex = build_task(
        "jsonl", path=path, fields=JsonlFields(input="q", answer="pattern"), scorer="regex"
    )
    example = regex.load()[0]
    assert regex.score(example, "It is Paris, of course")[0]
    assert not regex.score(example, "Parisian")[0]
    numeric = build_task(
        "jsonl", path=path, fields=JsonlFields(input="q", answer="n"), scorer="numeric"
    )
    example = numeric.load()[0]
    assert numeric.score(example, numeric.extract(example, "that is 1/2") or "")[0]
    custom = build_task("jsonl", path=path, fields=fields, scorer="my_scorers:startswith_p")
    example = custom.load()[0]
    assert custom.score(example, "Pizza") == (True, "")
    assert custom.score(example, "Rome") == (False, "does not start with P")
    with pytest.raises(ConfigError, match="cannot import scorer"):
        build_task("jsonl", path=path, scorer="nope.nothing:here")
    with pytest.raises(ConfigError, match="unknown scorer"):
        build_task("jsonl", path=path, scorer="fuzzy")
