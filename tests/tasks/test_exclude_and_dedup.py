"""Reserved data (`splits.exclude`) and repeated questions (`splits.dedupe`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from concept_distill.errors import ConfigError
from concept_distill.records import Example
from concept_distill.tasks import SplitConfig, build_task, make_splits
from concept_distill.tasks.datafiles import SHIPPED_DATA
from concept_distill.tasks.splits import Exclusion, reserved_ids, usable_examples

REPO = Path(__file__).resolve().parents[2]
RESERVED_LAST = 300
"""Issue 12: the last 300 items of gsm8k-test.jsonl and of svamp.json are reserved."""
RESERVED_TASKS = {"gsm8k": "gsm8k-test.jsonl", "svamp": "svamp.json"}

EXAMPLES = [Example(id=f"e{i:02d}", question=f"question {i}", answer=str(i)) for i in range(40)]


def all_ids(config: SplitConfig, examples: list[Example] = EXAMPLES) -> set[str]:
    splits = make_splits(examples, config)
    return {example.id for split in splits.values() for example in split}


def test_the_last_examples_in_file_order_are_never_in_a_split() -> None:
    config = SplitConfig(train=0.4, validation=0.3, test=0.3, exclude=Exclusion(last=10))
    used = all_ids(config)
    assert len(used) == 30
    assert used.isdisjoint({f"e{i}" for i in range(30, 40)})


def test_excluded_ids_and_the_list_shorthand() -> None:
    config = SplitConfig.model_validate(
        {"train": 10, "validation": 10, "test": 10, "exclude": ["e03", "e07"]}
    )
    assert config.exclude == Exclusion(ids=["e03", "e07"])
    for seed in range(5):
        used = all_ids(config.model_copy(update={"seed": seed}))
        assert not used & {"e03", "e07"}
    both = Exclusion.model_validate({"last": 2, "ids": ["e00"]})
    assert reserved_ids(EXAMPLES, both) == {"e00", "e38", "e39"}


@pytest.mark.parametrize(
    ("exclusion", "message"),
    [
        (
            Exclusion(ids=["e03", "nope"]),
            "splits.exclude: no example has id 'nope' (ids look like 'e00')",
        ),
        (Exclusion(last=41), "splits.exclude.last is 41 but the data set has 40 examples"),
    ],
)
def test_a_bad_exclusion_is_a_one_line_config_error(exclusion: Exclusion, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_splits(EXAMPLES, SplitConfig(exclude=exclusion))
    assert str(caught.value) == message


def test_splits_that_no_longer_fit_say_how_many_were_set_aside() -> None:
    config = SplitConfig(train=20, validation=10, test=5, exclude=Exclusion(last=10))
    with pytest.raises(ConfigError) as caught:
        make_splits(EXAMPLES, config)
    assert str(caught.value) == (
        "splits need 35 examples but the data set has 30 (10 excluded or repeated set aside)"
    )


def test_repeated_questions_are_kept_once_and_a_repeat_of_a_reserved_one_goes() -> None:
    examples = [
        Example(id="a", question="Sam has 3 apples. How many?", answer="3"),
        Example(id="b", question="Bo has 2 pears.", answer="2"),
        Example(id="c", question="  sam has 3 APPLES.  How many? ", answer="3"),
        Example(id="d", question="Al has 5 figs.", answer="5"),
        Example(id="e", question="bo  has 2 pears.", answer="2"),
    ]
    kept = usable_examples(examples, SplitConfig(exclude=Exclusion(last=1)))
    assert [example.id for example in kept] == ["a", "d"]
    kept = usable_examples(examples, SplitConfig(dedupe=False, exclude=Exclusion(last=1)))
    assert [example.id for example in kept] == ["a", "b", "c", "d"]


def test_questions_that_differ_only_in_punctuation_are_not_repeats() -> None:
    # HumanEval/56 and /61: the same words, "<" and ">" in one, "(" and ")" in the other.
    examples = [
        Example(id="56", question='brackets is a string of "<" and ">".', answer=""),
        Example(id="61", question='brackets is a string of "(" and ")".', answer=""),
    ]
    assert [e.id for e in usable_examples(examples, SplitConfig())] == ["56", "61"]


def test_multiarith_repeats_are_removed_before_splitting() -> None:
    examples = build_task("multiarith", path=SHIPPED_DATA / "multiarith.json").load()
    assert len(examples) == 600
    first, repeat = (
        next(e for e in examples if e.id == i) for i in ("multiarith-40", "multiarith-50")
    )
    assert first.question == repeat.question  # a real repeat in the data
    kept = {example.id for example in usable_examples(examples, SplitConfig())}
    assert len(kept) == 580
    assert "multiarith-40" in kept
    assert "multiarith-50" not in kept
    used = all_ids(SplitConfig(train=0.4, validation=0.3, test=0.3), examples)
    assert len({e.question for e in examples if e.id in used}) == len(used) == 580


def reserved_in_published(study: Path) -> list[str]:
    """`<run>/splits.json: <id>` for every reserved id a published splits.json holds."""
    reserved: dict[str, set[str]] = {}
    found = []
    for path in sorted(study.glob("**/splits.json")):
        splits = json.loads(path.read_text())
        for example_id in (i for ids in splits.values() for i in ids):
            task = example_id.split("-", 1)[0]
            if task not in RESERVED_TASKS:
                continue
            if task not in reserved:
                data = build_task(task, path=SHIPPED_DATA / RESERVED_TASKS[task]).load()
                reserved[task] = reserved_ids(data, Exclusion(last=RESERVED_LAST))
            if example_id in reserved[task]:
                found.append(f"{path.relative_to(study)}: {example_id}")
    return found


def test_the_reserved_ids_are_the_tails_of_gsm8k_and_svamp() -> None:
    gsm8k = build_task("gsm8k", path=SHIPPED_DATA / "gsm8k-test.jsonl").load()
    assert reserved_ids(gsm8k, Exclusion(last=300)) == {f"gsm8k-{n}" for n in range(1019, 1319)}
    svamp = build_task("svamp", path=SHIPPED_DATA / "svamp.json").load()
    assert reserved_ids(svamp, Exclusion(last=300)) == {f"svamp-chal-{n}" for n in range(701, 1001)}


def test_a_reserved_id_in_a_published_split_is_found(tmp_path: Path) -> None:
    run = tmp_path / "gsm8k-qwen"
    run.mkdir()
    splits = {"train": ["gsm8k-3"], "validation": ["gsm8k-1318"], "test": ["svamp-chal-700"]}
    (run / "splits.json").write_text(json.dumps(splits))
    assert reserved_in_published(tmp_path) == ["gsm8k-qwen/splits.json: gsm8k-1318"]


def test_no_published_study_split_holds_a_reserved_id() -> None:
    assert reserved_in_published(REPO / "docs" / "study") == []


def test_every_study_config_on_gsm8k_or_svamp_reserves_the_last_300() -> None:
    for path in sorted((REPO / "configs" / "study").glob("*.yaml")):
        config = yaml.safe_load(path.read_text()) or {}
        if config.get("task", {}).get("name") in RESERVED_TASKS:
            exclude = config.get("splits", {}).get("exclude", {})
            assert isinstance(exclude, dict), path
            assert exclude.get("last") == RESERVED_LAST, path
