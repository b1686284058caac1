"""The study's teacher-tips baseline: general rules with no mistakes shown, best of N on validation.

Concept Distillation shows the teacher the student's mistakes and keeps a rule only on evidence.
This baseline asks whether the mistakes matter: the same teacher writes N sets of general rules
for the task without seeing any mistake (distinct seeds), each set is appended to the base prompt
and scored on the validation split, and the best set is kept. N sets cost N x |validation|
student calls, so N = budget // |validation| compares the two at the same student budget.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.config import Config, config_as_yaml
from concept_distill.errors import ConfigError
from concept_distill.records import Rule

if TYPE_CHECKING:
    from concept_distill.graph.resources import RoleInput


class TipSet(BaseModel):
    """One teacher sample: its rules (or why there are none) and their validation score."""

    model_config = ConfigDict(frozen=True)

    index: int
    rules: list[str] = Field(default_factory=list)
    failure: str = ""
    correct: int = 0
    examples: int = 0

    @property
    def accuracy(self) -> float:
        """Share of the validation split right (0 when the set was not scored)."""
        return self.correct / self.examples if self.examples else 0.0


def best_tip_set(sets: list[TipSet]) -> TipSet | None:
    """The set with the most validation examples right (the first such on a tie); None if none."""
    scored = [tip_set for tip_set in sets if tip_set.rules and tip_set.examples]
    if not scored:
        return None
    return max(scored, key=lambda tip_set: (tip_set.correct, -tip_set.index))


def unscored_tip_sets(replies: list[list[str] | str]) -> list[TipSet]:
    """The teacher's replies as tip sets, not yet scored; a failure or an empty set says why."""
    return [
        TipSet(index=index, failure=reply or "no rules")
        if isinstance(reply, str) or not reply
        else TipSet(index=index, rules=reply)
        for index, reply in enumerate(replies)
    ]


def tips_prompt_document(base: StudentPrompt, best: TipSet | None) -> dict[str, Any]:
    """The `optimized_prompt.json` document for the chosen set (the base prompt when none).

    Its rules are recorded as accepted, with ids `tips-<set>-<n>`, so `eval --prompt` and the
    report read it like a distilled run's prompt file.
    """
    from concept_distill.report.writer import optimized_prompt_document

    if best is None:
        return optimized_prompt_document(base, [])
    accepted = [
        Rule(id=f"tips-{best.index}-{n}", text=text, iteration=0, status="accepted",
             accepted_order=n)
        for n, text in enumerate(best.rules)
    ]  # fmt: skip
    return optimized_prompt_document(base.with_rules(best.rules), accepted)


class TipsResult(BaseModel):
    """Every set, the chosen one, and where the prompt file for `eval --prompt` was written."""

    run_dir: str
    sets: list[TipSet]
    best: TipSet | None
    prompt_file: str


async def tips_baseline(
    config: Config,
    samples: int,
    run_dir: Path | None = None,
    *,
    student: RoleInput | None = None,
    teacher: RoleInput | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> TipsResult:
    """Ask the teacher for `samples` tip sets, score each on validation, keep the best.

    `student` and `teacher` may be given as model objects, as to `distill`. `on_event` hears
    the same phase and progress events as a run's views (JSON form), so a long baseline shows
    its pace and time left.
    """
    from concept_distill.agents.teacher import ChatTeacher
    from concept_distill.events import PhaseEvent
    from concept_distill.graph.resources import RunResources
    from concept_distill.report.prompt import PROMPT_JSON
    from concept_distill.tasks import split_assignment

    if samples < 1:
        raise ConfigError("--samples must be at least 1")
    resources = RunResources(
        config, run_dir=run_dir, label="tips", student=student, teacher=teacher
    )
    async with resources:
        directory = resources.directory
        await directory.write_text("config.yaml", config_as_yaml(config))
        await directory.write_json("splits.json", split_assignment(resources.splits))
        chat_teacher = resources.teacher
        if not isinstance(chat_teacher, ChatTeacher):
            raise ConfigError("the tips baseline needs a teacher model, not a Teacher agent")
        base = StudentPrompt(base=config.prompt.base, placement=config.prompt.rule_placement)
        validation = resources.splits["validation"]
        calls = samples * len(validation)
        resources.emit(PhaseEvent(phase="teacher tips", student_calls_at_most=calls), on_event)
        replies = await chat_teacher.tips(base.system, samples, config={})
        sets: list[TipSet] = []
        for tip_set in unscored_tip_sets(replies):
            if not tip_set.rules:
                sets.append(tip_set)
                continue
            index = tip_set.index
            resources.emit(PhaseEvent(phase=f"validate tip set {index + 1}/{samples}"), on_event)
            evaluation = await resources.evaluate(
                f"validation-tips-{index}", base.with_rules(tip_set.rules), validation, {},
                on_event=on_event,
            )  # fmt: skip
            scored = {"correct": evaluation.correct, "examples": len(validation)}
            sets.append(tip_set.model_copy(update=scored))
        best = best_tip_set(sets)
        await directory.write_jsonl("tips.jsonl", sets)
        prompt_file = await directory.write_json(PROMPT_JSON, tips_prompt_document(base, best))
        return TipsResult(
            run_dir=str(directory.path), sets=sets, best=best, prompt_file=str(prompt_file)
        )
