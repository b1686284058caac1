"""Run the student and the verifier over many examples, concurrently, and summarise.

Each example goes student -> verifier on its own, so judging overlaps with generation (a
pipeline): while some examples wait for the model, others are already in the sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import anyio
from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, ConfigDict, Field

from concept_distill.agents.contracts import Student, Verifier
from concept_distill.agents.student_prompt import StudentPrompt, as_student_prompt
from concept_distill.errors import single_error
from concept_distill.loop.health import FailureLimits, check_unjudged
from concept_distill.loop.stats import PairedComparison, paired_comparison, wilson_interval
from concept_distill.models.ledger import BudgetExhausted
from concept_distill.records import Example, ExampleResult

ProgressCallback = Callable[[ExampleResult], None]


class Evaluation(BaseModel):
    """Per-example results (in input order) and their summary."""

    model_config = ConfigDict(frozen=True)

    prompt: str = Field(description="The prompt, as one text (`StudentPrompt.describe`).")
    results: list[ExampleResult]
    seconds: float = Field(description="Wall-clock time of the whole evaluation.")

    @property
    def correct(self) -> int:
        """Examples judged correct."""
        return sum(1 for r in self.results if r.judgement.outcome == "correct")

    @property
    def judged(self) -> int:
        """Examples judged at all (`unjudged` ones are left out of accuracy)."""
        return sum(1 for r in self.results if r.judgement.outcome != "unjudged")

    @property
    def unjudged(self) -> int:
        """Examples the system could not judge (model or sandbox failure)."""
        return len(self.results) - self.judged

    @property
    def accuracy(self) -> float:
        """Correct over judged."""
        return self.correct / self.judged if self.judged else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """95% Wilson interval of the accuracy."""
        return wilson_interval(self.correct, self.judged)

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens the student used (cached replies included)."""
        return sum(r.attempt.prompt_tokens for r in self.results)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens the student used (cached replies included)."""
        return sum(r.attempt.completion_tokens for r in self.results)

    @property
    def cut_share(self) -> float:
        """Share of replies cut at `max_tokens` (`finish_reason=length`).

        A cap too low for the reasoning the task needs shows here first.
        """
        cut = sum(1 for r in self.results if r.attempt.finish_reason == "length")
        return cut / len(self.results) if self.results else 0.0

    @property
    def mean_completion_tokens(self) -> float:
        """Average reply length in tokens, over the replies that came back."""
        lengths = [r.attempt.completion_tokens for r in self.results if r.attempt.error is None]
        return sum(lengths) / len(lengths) if lengths else 0.0

    def by_id(self) -> dict[str, ExampleResult]:
        """Results keyed by example id."""
        return {r.example_id: r for r in self.results}


async def evaluate(
    prompt: StudentPrompt | str,
    examples: Sequence[Example],
    *,
    student: Student,
    verifier: Verifier,
    concurrency: int = 16,
    on_result: ProgressCallback | None = None,
    config: RunnableConfig | None = None,
    limits: FailureLimits | None = None,
    label: str = "evaluation",
    limiter: anyio.CapacityLimiter | None = None,
) -> Evaluation:
    """Answer and judge every example under `prompt`; at most `concurrency` in flight.

    Raises:
        SystemFailure: too many examples so far are unjudged (`limits`, default `FailureLimits()`),
            or a role's endpoint cannot serve the run (`ModelUnavailable`); raised bare, not in
            an ExceptionGroup, so the CLI prints it as one line.
    """
    started = time.monotonic()
    results: list[ExampleResult | None] = [None] * len(examples)
    # A caller running several evaluations at once (racing) passes one shared limiter, so
    # `concurrency` bounds the examples in flight across all of them.
    limiter = limiter or anyio.CapacityLimiter(max(1, concurrency))
    limits = limits or FailureLimits()
    finished = unjudged = 0

    spent: list[BudgetExhausted] = []

    async def one(index: int, example: Example) -> None:
        async with limiter:
            if spent:
                return
            try:
                attempt = await student.answer(prompt, example, config=config)
            except BudgetExhausted as error:
                # No new call starts; the calls already in flight finish and are counted.
                spent.append(error)
                return
            judgement = await verifier.judge(example, attempt)
        result = ExampleResult(example_id=example.id, attempt=attempt, judgement=judgement)
        results[index] = result
        if on_result is not None:
            on_result(result)
        nonlocal finished, unjudged
        finished += 1
        unjudged += judgement.outcome == "unjudged"
        check_unjudged(unjudged, finished, limits, label=label)

    try:
        async with anyio.create_task_group() as group:
            for index, example in enumerate(examples):
                group.start_soon(one, index, example)
    except BaseExceptionGroup as group_error:
        raise single_error(group_error) from None
    if spent:
        raise spent[0]
    done = [result for result in results if result is not None]
    text = as_student_prompt(prompt).describe()
    return Evaluation(prompt=text, results=done, seconds=time.monotonic() - started)


def compare(base: Evaluation, new: Evaluation) -> PairedComparison:
    """Paired comparison on the examples both evaluations judged."""
    new_by_id = new.by_id()
    pairs = [
        (r.judgement.correct, new_by_id[r.example_id].judgement.correct)
        for r in base.results
        if r.example_id in new_by_id
        and r.judgement.outcome != "unjudged"
        and new_by_id[r.example_id].judgement.outcome != "unjudged"
    ]
    return paired_comparison([b for b, _ in pairs], [n for _, n in pairs])


class PairedOutcome(BaseModel):
    """A paired comparison and the ids it fixed and broke (a rule's evidence)."""

    model_config = ConfigDict(frozen=True)

    comparison: PairedComparison
    fixed: list[str]
    broken: list[str]


def paired_outcome(current: dict[str, bool], new: dict[str, bool]) -> PairedOutcome:
    """Compare per-example correctness on the ids both sides judged."""
    shared = [example_id for example_id in sorted(current) if example_id in new]
    return PairedOutcome(
        comparison=paired_comparison([current[i] for i in shared], [new[i] for i in shared]),
        fixed=[i for i in shared if new[i] and not current[i]],
        broken=[i for i in shared if current[i] and not new[i]],
    )


def correctness(evaluation: Evaluation) -> dict[str, bool]:
    """Correct or not by example id, for the examples that were judged (unjudged left out)."""
    return {
        r.example_id: r.judgement.correct
        for r in evaluation.results
        if r.judgement.outcome != "unjudged"
    }


SHORTENING_RATIO = 0.6
"""A rule whose replies are shorter than this share of the incumbent's is flagged: a small
student told to be brief stops reasoning (measured: one rule shrank Qwen-0.5B's GSM8K replies
from 233 to 53 tokens and its accuracy from 11/58 to 3/58)."""


LENGTHENING_RATIO = 1.2
"""A rule whose replies are longer than this multiple of the incumbent's is flagged too: near the
question, rules made Qwen-0.5B's GSM8K replies 1.22 times longer and the share cut at 512 tokens
rose from 4% to 23% (docs/study.md, the oracle check)."""


def length_note(ratio: float | None) -> str | None:
    """What the rule ledger says of a reply-length ratio far from 1, if anything."""
    if ratio is None:
        return None
    if ratio < SHORTENING_RATIO:
        return f"replies shrank to {ratio:.0%} of the incumbent's length"
    if ratio > LENGTHENING_RATIO:
        return f"replies grew to {ratio:.0%} of the incumbent's length (more are cut at max_tokens)"
    return None


def length_ratio(candidate: dict[str, int], incumbent: dict[str, int]) -> float | None:
    """Mean reply length under the candidate over the incumbent's, on the examples both have."""
    shared = [example_id for example_id in candidate if example_id in incumbent]
    before = sum(incumbent[i] for i in shared)
    if not shared or before == 0:
        return None
    return sum(candidate[i] for i in shared) / before


def reply_tokens(evaluation: Evaluation) -> dict[str, int]:
    """Reply length in tokens by example id, for the replies that came back."""
    return {
        r.example_id: r.attempt.completion_tokens
        for r in evaluation.results
        if r.attempt.error is None
    }
