"""Answer extraction on real replies of the local models (fixtures/real_replies.jsonl).

Every row is one reply that llama-server generated (SmolLM2-135M, Qwen2.5-Coder-0.5B or -1.5B) for
a MultiArith, SVAMP, GSM8K or HumanEval item, with the system prompt, temperature and token cap
used. A math row holds the data set's gold answer and `expected`, the number a careful reader
takes as the reply's final answer: the gold when the reply states it in any shape, the stated
number when the reply clearly states a wrong one (its `note` says so), None when it states no
number at all. `expected` was written by reading the reply, never by running the extractor. A
code row says whether `program_from_reply` should find the reply's own function ("whole"), a
body completing the prompt ("body"), or nothing (None).
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from concept_distill.agents.verifier import TaskVerifier
from concept_distill.records import Attempt, Example
from concept_distill.tasks import HumanEvalTask, Task, build_task
from concept_distill.tasks.code import program_from_reply
from concept_distill.tasks.numbers import extract_final_number, format_number, parse_number

FIXTURE = Path(__file__).parent / "fixtures" / "real_replies.jsonl"
ROWS: list[dict[str, Any]] = [json.loads(line) for line in FIXTURE.open(encoding="utf-8")]
MATH = [row for row in ROWS if row["dataset"] != "humaneval"]
CODE = [row for row in ROWS if row["dataset"] == "humaneval"]
# fmt: off
MATH_SHAPES = {
    "answer-is", "hashes", "boxed", "bold", "money", "thousands", "units", "fraction", "decimal",
    "negative", "trailing-talk", "several-numbers", "code-block", "no-answer", "truncated",
    "bare-number", "placeholder", "expression",
}
# fmt: on
CODE_SHAPES = {"fenced-function", "body-only", "prose-and-code", "multiple-blocks", "no-code"}


@pytest.fixture(scope="module")
def tasks() -> dict[str, Task]:
    return {name: build_task(name) for name in ("multiarith", "svamp", "gsm8k")}


@pytest.fixture(scope="module")
def examples(tasks: dict[str, Task]) -> dict[str, Example]:
    loaded = [example for task in tasks.values() for example in task.load()]
    loaded += HumanEvalTask().load()
    return {example.id: example for example in loaded}


def test_the_table_is_broad_and_real() -> None:
    assert len(MATH) >= 60 and len(CODE) >= 10
    assert len({row["id"] for row in ROWS}) == len(ROWS)
    assert {row["model"] for row in ROWS} == {
        "smollm2-135m",
        "qwen2.5-coder-0.5b",
        "qwen2.5-coder-1.5b",
    }
    assert {row["dataset"] for row in MATH} == {"multiarith", "svamp", "gsm8k"}
    assert {row["system_prompt"] for row in MATH} >= {
        None,
        "Solve step by step and end with 'The answer is N'",
        "Answer with just the number",
        "Put the final answer in \\boxed{}",
    }
    assert any(row["temperature"] > 0 for row in MATH)
    shapes = Counter(shape for row in MATH for shape in row["shapes"])
    assert set(shapes) <= MATH_SHAPES and all(shapes[shape] >= 2 for shape in MATH_SHAPES), shapes
    code_shapes = Counter(shape for row in CODE for shape in row["shapes"])
    assert set(code_shapes) <= CODE_SHAPES | {"truncated", "imports"}
    assert all(code_shapes[shape] >= 1 for shape in CODE_SHAPES), code_shapes
    wrong = [row for row in MATH if row["expected"] not in (None, row["gold"])]
    assert all(row.get("note") for row in wrong)
    assert sum(row["expected"] is None for row in MATH) >= 3
    assert sum(row["expected"] == row["gold"] for row in MATH) >= 20


@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_the_gold_and_the_prompt_come_from_the_data_set(
    row: dict[str, Any], examples: dict[str, Example]
) -> None:
    example = examples[row["item_id"]]
    assert row["gold"] == (None if row["dataset"] == "humaneval" else example.answer)


@pytest.mark.parametrize("row", MATH, ids=[row["id"] for row in MATH])
def test_extract_final_number(row: dict[str, Any]) -> None:
    expected = row["expected"]
    found = extract_final_number(row["reply"])
    assert found == (None if expected is None else Fraction(expected)), row.get("note")


@pytest.mark.anyio
@pytest.mark.parametrize("row", MATH, ids=[row["id"] for row in MATH])
async def test_the_math_verifier_judges_as_a_reader_would(
    row: dict[str, Any], tasks: dict[str, Task], examples: dict[str, Example]
) -> None:
    example = examples[row["item_id"]]
    attempt = Attempt(example_id=example.id, reply=row["reply"])
    judgement = await TaskVerifier(tasks[row["dataset"]]).judge(example, attempt)
    expected = row["expected"]
    if expected is None:
        assert (judgement.outcome, judgement.reason) == ("wrong", "no answer found in the reply")
    elif parse_number(expected) == parse_number(row["gold"]):
        assert judgement.outcome == "correct", judgement.reason
    else:
        assert judgement.outcome == "wrong"
        assert judgement.extracted == format_number(Fraction(expected))
        assert f"expected {row['gold']}" in judgement.reason


@pytest.mark.parametrize("row", CODE, ids=[row["id"] for row in CODE])
def test_program_from_reply(row: dict[str, Any], examples: dict[str, Example]) -> None:
    example = examples[row["item_id"]]
    entry = example.entry_point or ""
    program = program_from_reply(example.question, entry, row["reply"])
    if row["expected"] is None:
        assert program is None
        return
    assert program is not None and program.startswith(example.question)
    if not row["compiles"]:
        # Cut-off code is still code: the sandbox reports its SyntaxError, not "no code".
        with pytest.raises(SyntaxError):
            ast.parse(program)
        assert program.count(f"def {entry}(") == 2
        return
    tree = ast.parse(program)
    defined = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
    entry_defs = [node for node in defined if node.name == entry]
    # "whole": the prompt's stub, then the reply's own function, which wins; "body": one def.
    assert len(entry_defs) == (2 if row["expected"] == "whole" else 1)
    assert not _is_stub(entry_defs[-1])


def _is_stub(function: ast.FunctionDef) -> bool:
    """A function whose body is only a docstring and/or `pass`."""
    return all(
        isinstance(node, ast.Pass)
        or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))
        for node in function.body
    )


@pytest.mark.anyio
async def test_a_long_decimal_answer_keeps_its_digits_through_scoring(
    tasks: dict[str, Task],
) -> None:
    # Not a model reply: the one shape the table lacks. Six significant digits used to turn
    # 123456.5 into "123456", which then missed the gold by 0.5.
    example = Example(id="gsm8k-x", question="q", answer="123456.5")
    reply = "The total is $123,456.50."
    judgement = await TaskVerifier(tasks["gsm8k"]).judge(
        example, Attempt(example_id="x", reply=reply)
    )
    assert (judgement.outcome, judgement.extracted) == ("correct", "123456.5")
