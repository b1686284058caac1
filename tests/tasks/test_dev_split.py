"""The dev split: cut last, so adding one leaves train, validation and test as they were."""

from __future__ import annotations

from concept_distill.tasks import build_task, make_splits
from concept_distill.tasks.splits import SplitConfig


def test_a_dev_split_leaves_the_other_splits_unchanged() -> None:
    examples = build_task("multiarith").load()
    without = make_splits(examples, SplitConfig(seed=3, train=10, validation=20, test=30))
    with_dev = make_splits(examples, SplitConfig(seed=3, train=10, validation=20, test=30, dev=15))
    for name in ("train", "validation", "test"):
        assert [e.id for e in with_dev[name]] == [e.id for e in without[name]]
    assert without["dev"] == []
    assert len(with_dev["dev"]) == 15
    taken = {e.id for name in ("train", "validation", "test") for e in with_dev[name]}
    assert taken.isdisjoint(e.id for e in with_dev["dev"])
