"""`load_optimized_prompt` reads either file a run writes, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concept_distill import ConfigError, load_optimized_prompt

PROMPT = "You are a helpful assistant.\n\nRules:\n1. End with 'The answer is N.'"


def test_json_text_and_run_directory_give_the_same_prompt(tmp_path: Path) -> None:
    (tmp_path / "optimized_prompt.json").write_text(json.dumps({"prompt": PROMPT, "rules": []}))
    (tmp_path / "optimized_prompt.txt").write_text(PROMPT)
    assert load_optimized_prompt(tmp_path / "optimized_prompt.json").system == PROMPT
    assert load_optimized_prompt(tmp_path / "optimized_prompt.txt").system == PROMPT
    assert load_optimized_prompt(tmp_path).system == PROMPT


def test_a_text_file_is_read_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text("line one\n")
    assert load_optimized_prompt(path).system == "line one\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [("{", "bad JSON"), ('{"prompt": 3}', "string field 'prompt'"), ("[]", "string field")],
)
def test_bad_json_is_a_config_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "optimized_prompt.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        load_optimized_prompt(path)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read prompt"):
        load_optimized_prompt(tmp_path / "nope.txt")


def test_rules_placed_in_the_user_message_come_back_placed(tmp_path: Path) -> None:
    document = {
        "format": "concept-distill/optimized-prompt@2",
        "prompt": "Base.",
        "base_prompt": "Base.",
        "placement": "user_after",
        "rules": [{"id": "r1-0-1", "text": "Show each step."}],
    }
    path = tmp_path / "optimized_prompt.json"
    path.write_text(json.dumps(document))
    prompt = load_optimized_prompt(path)
    assert prompt.messages("What is 2+2?") == [
        {"role": "system", "content": "Base."},
        {"role": "user", "content": "What is 2+2?\n\nFollow these rules:\n- Show each step."},
    ]


def test_a_user_placement_without_its_rules_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "optimized_prompt.json"
    path.write_text(json.dumps({"prompt": "Base.", "placement": "user_before"}))
    with pytest.raises(ConfigError, match="needs base_prompt and rules"):
        load_optimized_prompt(path)


def test_a_runs_rules_file_gives_every_candidate_unvalidated_in_proposal_order(
    tmp_path: Path,
) -> None:
    document = {
        "format": "concept-distill/optimized-prompt@2",
        "prompt": "Base.\n\nFollow these rules:\n- Two.",
        "base_prompt": "Base.",
        "placement": "user_after",
        "rules": [{"id": "r1-0-2", "text": "Two."}],
    }
    (tmp_path / "optimized_prompt.json").write_text(json.dumps(document))
    statuses = [("One.", "rejected"), ("Jack's honey.", "leak"), ("Two.", "accepted"),
                ("Three.", "pruned"), ("Two.", "duplicate"), ("Four.", "proposed")]  # fmt: skip
    rules = [{"id": f"r{n}", "text": text, "status": status} for n, (text, status) in
             enumerate(statuses)]  # fmt: skip
    (tmp_path / "rules.jsonl").write_text("".join(json.dumps(rule) + "\n" for rule in rules))
    prompt = load_optimized_prompt(tmp_path / "rules.jsonl")
    assert prompt.base == "Base." and prompt.placement == "user_after"
    assert prompt.rules == ("One.", "Two.", "Three.", "Four.")
    (tmp_path / "optimized_prompt.json").unlink()
    with pytest.raises(ConfigError, match=r"needs the run's optimized_prompt\.json"):
        load_optimized_prompt(tmp_path / "rules.jsonl")


def test_leaving_out_a_rule_gives_the_runs_prompt_without_it(tmp_path: Path) -> None:
    from concept_distill.report.prompt import without_rules

    document = {
        "format": "concept-distill/optimized-prompt@2",
        "prompt": "Base.\n\nFollow these rules:\n- One.\n- Two.",
        "base_prompt": "Base.",
        "placement": "system",
        "rules": [{"id": "r1-0-1", "text": "One."}, {"id": "r2-0-1", "text": "Two."}],
    }
    path = tmp_path / "optimized_prompt.json"
    path.write_text(json.dumps(document))
    assert load_optimized_prompt(path).system == document["prompt"]
    assert without_rules(tmp_path, ["r1-0-1"]).system == "Base.\n\nFollow these rules:\n- Two."
    assert without_rules(path, ["r1-0-1", "r2-0-1"]).system == "Base."
    with pytest.raises(ConfigError, match=r"--leave-out r9: not a rule of .* r1-0-1, r2-0-1"):
        without_rules(path, ["r9"])
