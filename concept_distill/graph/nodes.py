"""The graph's nodes: thin adapters over the method in `loop/`.

Each reads the state, calls a pure function of `loop/`, and returns an update. Records cross the
state as JSON (see `state.py`); resources come from `scope.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Send

from concept_distill.agents.solvable import scorer_judge, solved_mistakes, verifier_judge
from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.config import config_as_yaml
from concept_distill.events import IterationEvent, PhaseEvent, RuleDecidedEvent, RuleProposedEvent
from concept_distill.graph.resources import RunResources
from concept_distill.graph.scope import DistillContext, GraphSetup, release, resources_for
from concept_distill.graph.state import (
    DistillState,
    InduceInput,
    accepted_rules,
    as_json,
    history_of,
    metrics_of,
    mistakes_of,
    reset_rules,
    rules_of,
)
from concept_distill.loop.acceptance import AcceptancePolicy
from concept_distill.loop.audit import audit_rules
from concept_distill.loop.candidates import decide_rules, drop_duplicates, proposed_rules
from concept_distill.loop.evaluation import (
    Evaluation,
    compare,
    correctness,
    reply_tokens,
)
from concept_distill.loop.rounds import (
    Evaluate,
    Prompt,
    Results,
    race_order,
    run_round,
)
from concept_distill.loop.selection import select_batches
from concept_distill.loop.stopping import LoopStatus, StopCondition, stop_reason
from concept_distill.models.ledger import BudgetExhausted, budget_reason
from concept_distill.planning import plan_spend
from concept_distill.records import Example, ExampleResult, IterationRecord, Rule
from concept_distill.report.writer import write_run_outputs
from concept_distill.tasks import split_assignment

Ctx = Runtime[DistillContext]


def _tagged(config: RunnableConfig, phase: str, **metadata: object) -> RunnableConfig:
    """The node's config with LangSmith tags and metadata for the model calls it makes."""
    tags = [*config.get("tags", []), f"phase:{phase}"]
    return {**config, "tags": tags, "metadata": {**config.get("metadata", {}), **metadata}}


@dataclass(frozen=True)
class DistillNodes:
    """The nodes, bound to what `build_graph` was given (immutable; nothing per run)."""

    setup: GraphSetup
    policy: AcceptancePolicy
    stop_conditions: Sequence[StopCondition]

    async def _resources(self, state: DistillState, runtime: Ctx) -> RunResources:
        return await resources_for(self.setup, runtime, state.get("run_dir"))

    async def prepare(
        self, state: DistillState, config: RunnableConfig, runtime: Ctx
    ) -> DistillState:
        """Start a run: its directory, the resolved config and splits; every key reset."""
        resources = await resources_for(self.setup, runtime, None)
        directory = resources.directory
        await directory.write_text("config.yaml", config_as_yaml(resources.config))
        await directory.write_json("splits.json", split_assignment(resources.splits))
        splits = resources.splits
        bound = plan_spend(
            resources.config,
            train=len(splits["train"]),
            validation=len(splits["validation"]),
            test=len(splits["test"]),
            question_chars=0,  # calls do not depend on it
        ).student_calls
        resources.emit(
            PhaseEvent(phase="prepare", run_dir=str(directory.path), student_calls_at_most=bound)
        )
        return {
            "run_dir": str(directory.path),
            "base_prompt": state.get("base_prompt") or resources.config.prompt.base,
            "rules": reset_rules(),  # type: ignore[typeddict-item]
            "accepted_rule_ids": [],
            "incumbent_validation": {},
            "incumbent_reply_tokens": {},
            "train_mistakes": {},
            "shown_to_teacher": [],
            "batches": [],
            "iteration": 0,
            "idle_rounds": 0,
            "stop_reason": "",
            "history": [],
            "metrics": {},
            "optimized_prompt": "",
            "report_path": "",
            "spend": as_json(resources.totals()),
        }

    async def initialize(
        self, state: DistillState, config: RunnableConfig, runtime: Ctx
    ) -> DistillState:
        """The base prompt on train (to find mistakes) and validation (the score to beat)."""
        resources = await self._resources(state, runtime)
        resources.emit(PhaseEvent(phase="initialize"))
        tagged, prompt = _tagged(config, "initialize", iteration=0), self._prompt(state, [])
        try:
            train = await resources.evaluate(
                "initial-train", prompt, resources.splits["train"], tagged
            )
            validation = await resources.evaluate(
                "initial-validation", prompt, resources.splits["validation"], tagged
            )
        except BudgetExhausted as spent:
            return {"stop_reason": spent.reason, "spend": as_json(resources.totals())}
        record = IterationRecord(iteration=0, validation_accuracy=validation.accuracy, rules=0)
        metrics = metrics_of(state).model_copy(
            update={
                "train_accuracy_base": train.accuracy,
                "validation_accuracy_base": validation.accuracy,
                "cut_share": {
                    "initial-train": train.cut_share,
                    "initial-validation": validation.cut_share,
                },
            }
        )
        return {
            "incumbent_validation": correctness(validation),
            "incumbent_reply_tokens": reply_tokens(validation),
            "train_mistakes": {
                r.example_id: as_json(r) for r in train.results if r.judgement.outcome == "wrong"
            },
            "history": [as_json(record)],
            "metrics": as_json(metrics),
            "spend": as_json(resources.totals()),
        }

    def after_initialize(self, state: DistillState) -> Literal["select", "audit"]:
        """A budget spent while initializing ends the loop before it starts."""
        return "audit" if state.get("stop_reason") else "select"

    async def select(
        self, state: DistillState, config: RunnableConfig, runtime: Ctx
    ) -> DistillState:
        """Pick this round's batches of unexplained mistakes not yet shown to the teacher."""
        resources = await self._resources(state, runtime)
        loop, teacher, examples = resources.config.loop, resources.teacher, resources.examples()
        shown = set(state.get("shown_to_teacher", []))
        mistakes = mistakes_of(state)
        cost = {
            example_id: teacher.prompt_tokens("", [(examples[example_id], result)])
            for example_id, result in mistakes.items()
            if example_id not in shown
        }
        incumbent_text = self._prompt(state).describe()
        budget = loop.teacher_prompt_tokens - teacher.prompt_tokens(incumbent_text, [])
        batches = select_batches(
            mistakes, shown, batches=loop.batches_per_round, per_batch=loop.mistakes_per_batch,
            cost=cost, budget=budget,
        )  # fmt: skip
        too_big = [example_id for example_id, tokens in cost.items() if tokens > budget]
        newly_shown = [example_id for batch in batches for example_id in batch] + too_big
        resources.emit(PhaseEvent(phase="select"))
        update: DistillState = {
            "batches": batches,
            "shown_to_teacher": [*state.get("shown_to_teacher", []), *newly_shown],
        }
        if not batches:
            update["stop_reason"] = "no unexplained mistake left to show the teacher"
        return update

    def fan_out(self, state: DistillState) -> list[Send] | Literal["audit"]:
        """One teacher branch per batch, or on to the audit when there is nothing to show."""
        batches = state.get("batches", [])
        if not batches:
            return "audit"
        existing = [rule.text for rule in rules_of(state)]
        mistakes = state.get("train_mistakes", {})
        return [
            Send(
                "induce",
                InduceInput(
                    run_dir=state["run_dir"],
                    iteration=state.get("iteration", 0) + 1,
                    batch_index=index,
                    prompt=self._prompt(state).describe(),
                    mistake_ids=batch,
                    mistakes={example_id: mistakes[example_id] for example_id in batch},
                    existing=existing,
                ),
            )
            for index, batch in enumerate(batches)
        ]

    async def induce(
        self, payload: InduceInput, config: RunnableConfig, runtime: Ctx
    ) -> DistillState:
        """The teacher diagnoses one batch and proposes rules; filters drop leaks and platitudes."""
        resources = await resources_for(self.setup, runtime, payload["run_dir"])
        examples = resources.examples()
        batch = [
            (examples[i], mistakes_of({"train_mistakes": payload["mistakes"]})[i])
            for i in payload["mistake_ids"]
        ]
        iteration, index = payload["iteration"], payload["batch_index"]
        tagged = _tagged(config, "induce", iteration=iteration, batch=index)
        loop = resources.config.loop
        try:
            if loop.teacher_solves_first:
                batch = await self._solvable(resources, batch, tagged)
                if not batch:
                    return {}  # a teacher that cannot solve these should not write rules
            induction = await resources.teacher.induce(
                payload["prompt"], batch, samples=loop.teacher_samples, config=tagged
            )
        except BudgetExhausted:
            return {}
        rules = proposed_rules(
            induction, batch, iteration=iteration, batch_index=index,
            existing=payload["existing"],
            vocabulary=resources.task_vocabulary(),
            bare_fallback=loop.bare_fallback,
        )  # fmt: skip
        for rule in rules:
            resources.emit(
                RuleProposedEvent(rule_id=rule.id, text=rule.text, status=rule.status,
                                  reason=rule.reason)
            )  # fmt: skip
        return {"rules": [as_json(rule) for rule in rules]}

    async def _solvable(
        self,
        resources: RunResources,
        batch: list[tuple[Example, ExampleResult]],
        config: RunnableConfig,
    ) -> list[tuple[Example, ExampleResult]]:
        """The mistakes whose problem the teacher solves itself (judged like the student's)."""
        examples = [example for example, _ in batch]
        solutions = await resources.teacher.solve_all(examples, config=config)
        judge = scorer_judge(resources.task) or await verifier_judge(
            resources.verifier, examples, solutions
        )
        return solved_mistakes(batch, solutions, judge)

    async def validate(
        self, state: DistillState, config: RunnableConfig, runtime: Ctx
    ) -> DistillState:
        """Race this round's candidates against the incumbent prompt (see `loop/rounds.py`)."""
        resources = await self._resources(state, runtime)
        resources.emit(PhaseEvent(phase="validate"))
        iteration = state.get("iteration", 0) + 1
        ledger = {rule.id: rule for rule in rules_of(state)}
        ledger, duplicates = drop_duplicates(ledger, iteration)
        candidates = [
            rule.id
            for rule in ledger.values()
            if rule.iteration == iteration and rule.status == "proposed"
        ]
        validation_ids = [example.id for example in resources.splits["validation"]]
        incumbent: Prompt = tuple(state.get("accepted_rule_ids", []))
        lengths = {incumbent: dict(state.get("incumbent_reply_tokens", {}))}
        tagged = _tagged(config, "validate", iteration=iteration)
        outcome = await run_round(
            incumbent,
            candidates,
            race_order(validation_ids, resources.config.acceptance.seed),
            self._evaluator(resources, state, ledger, tagged, lengths),
            self.policy,
            budget_exhausted=lambda: _spent(resources),
            known={incumbent: state.get("incumbent_validation", {})},
        )
        decided = decide_rules(
            ledger, outcome.final(), outcome.accepted, lengths,
            position=len(state.get("accepted_rule_ids", [])),
        )  # fmt: skip
        for rule in decided:
            resources.emit(
                RuleDecidedEvent(
                    rule_id=rule.id, text=rule.text, status=rule.status,
                    validation_delta=rule.validation_delta, p_value=rule.p_value,
                    fixed=len(rule.fixed), broken=len(rule.broken), reason=rule.reason,
                )
            )  # fmt: skip
        # What is known of the new incumbent's validation results (racing: where races reached).
        known = {k: v for k, v in outcome.incumbent_results.items() if v is not None}
        return {
            "rules": [as_json(rule) for rule in [*duplicates, *decided]],
            "accepted_rule_ids": list(outcome.incumbent),
            "incumbent_validation": known or state.get("incumbent_validation", {}),
            "incumbent_reply_tokens": lengths.get(outcome.incumbent, {}),
            "spend": as_json(resources.totals()),
        }

    def _evaluator(
        self,
        resources: RunResources,
        state: DistillState,
        ledger: dict[str, Rule],
        config: RunnableConfig,
        lengths: dict[Prompt, dict[str, int]] | None = None,
    ) -> Evaluate:
        """`loop.rounds.Evaluate` over the student; notes reply lengths per prompt in `lengths`."""
        examples = resources.examples()

        async def evaluate(prompt: Prompt, ids: Sequence[str]) -> Results:
            text = self._prompt(state, [ledger[i].text for i in prompt])
            # Example ids may hold "/" (HumanEval/3): the label names a file, so no separators.
            label = f"validate-{'+'.join(prompt) or 'base'}-{ids[0]}".replace("/", "_")
            evaluation = await resources.evaluate(label, text, [examples[i] for i in ids], config)
            if lengths is not None:
                lengths.setdefault(prompt, {}).update(reply_tokens(evaluation))
            judged = correctness(evaluation)
            return {i: judged.get(i) for i in ids}

        return evaluate

    async def update(
        self, state: DistillState, config: RunnableConfig, runtime: Ctx
    ) -> DistillState:
        """Re-check the remaining train mistakes under the new prompt; decide whether to stop."""
        resources = await self._resources(state, runtime)
        iteration = state.get("iteration", 0) + 1
        accepted_now = len(state.get("accepted_rule_ids", [])) - _accepted_before(state)
        mistakes = state.get("train_mistakes", {})
        if accepted_now and mistakes:
            examples = resources.examples()
            try:
                recheck = await resources.evaluate(
                    f"recheck-{iteration}", self._prompt(state),
                    [examples[example_id] for example_id in sorted(mistakes)],
                    _tagged(config, "update", iteration=iteration),
                )  # fmt: skip
                mistakes = {
                    r.example_id: as_json(r)
                    for r in recheck.results
                    if r.judgement.outcome == "wrong"
                }
            except BudgetExhausted:
                pass
        idle = 0 if accepted_now else state.get("idle_rounds", 0) + 1
        incumbent = state.get("incumbent_validation", {})
        accuracy = sum(incumbent.values()) / len(incumbent) if incumbent else 0.0
        record = IterationRecord(
            iteration=iteration, validation_accuracy=accuracy,
            rules=len(state.get("accepted_rule_ids", [])), accepted_this_round=accepted_now,
        )  # fmt: skip
        resources.emit(IterationEvent(**record.model_dump()))
        totals = resources.totals()
        status = LoopStatus(
            iteration=iteration, idle_rounds=idle, mistakes_left=len(mistakes), totals=totals
        )
        return {
            "iteration": iteration,
            "train_mistakes": mistakes,
            "idle_rounds": idle,
            "history": [*state.get("history", []), as_json(record)],
            "stop_reason": stop_reason(self.stop_conditions, status),
            "spend": as_json(totals),
        }

    def route(self, state: DistillState) -> Literal["select", "audit"]:
        """Loop, or stop with the reason `update` recorded."""
        return "audit" if state.get("stop_reason") else "select"

    async def audit(
        self, state: DistillState, config: RunnableConfig, runtime: Ctx
    ) -> DistillState:
        """Leave each accepted rule out in turn on validation; prune the dead weight."""
        resources = await self._resources(state, runtime)
        kept = tuple(state.get("accepted_rule_ids", []))
        if len(kept) < 2:
            return {}
        resources.emit(PhaseEvent(phase="audit"))
        ledger = {rule.id: rule for rule in rules_of(state)}
        validation_ids = [example.id for example in resources.splits["validation"]]
        try:
            outcome = await audit_rules(
                kept,
                race_order(validation_ids, resources.config.acceptance.seed),
                self._evaluator(resources, state, ledger, _tagged(config, "audit")),
                usefulness={i: ledger[i].validation_delta or 0.0 for i in kept},
                budget_exhausted=lambda: _spent(resources),
                known={kept: state.get("incumbent_validation", {})},
            )
        except BudgetExhausted:
            return {}  # the audit never adds a rule: with no budget left, keep them all
        pruned = [
            ledger[record.rule].model_copy(
                update={"status": "pruned", "reason": record.reason,
                        "evidence": {**ledger[record.rule].evidence, "audit": as_json(record)}}
            )
            for record in outcome.evidence
            if record.pruned
        ]  # fmt: skip
        for rule in pruned:
            resources.emit(
                RuleDecidedEvent(rule_id=rule.id, text=rule.text, status="pruned",
                                 reason=rule.reason)
            )  # fmt: skip
        return {
            "rules": [as_json(rule) for rule in pruned],
            "accepted_rule_ids": list(outcome.prompt),
            "spend": as_json(resources.totals()),
        }

    async def test(self, state: DistillState, config: RunnableConfig, runtime: Ctx) -> DistillState:
        """Base and final prompt on the held-out test split, paired; outside the budget."""
        resources = await self._resources(state, runtime)
        resources.emit(PhaseEvent(phase="test"))
        resources.ledger.enforce = False
        tagged, examples = _tagged(config, "test"), resources.splits["test"]
        base_prompt = self._prompt(state, [])
        base = await resources.evaluate("test-base", base_prompt, examples, tagged)
        final: Evaluation = base
        prompt = self._prompt(state)
        if prompt != base_prompt:
            final = await resources.evaluate("test-final", prompt, examples, tagged)
        comparison = compare(base, final)
        rules = rules_of(state)
        metrics = metrics_of(state).model_copy(
            update={
                "test_accuracy_base": base.accuracy,
                "cut_share": {
                    **metrics_of(state).cut_share,
                    "test-base": base.cut_share,
                    "test-final": final.cut_share,
                },
                "test_accuracy_final": final.accuracy,
                "test_ci_base": base.interval,
                "test_ci_final": final.interval,
                "test_examples": len(examples),
                "test_unjudged": max(base.unjudged, final.unjudged),
                "test_difference": comparison.difference,
                "test_difference_ci": (comparison.ci_low, comparison.ci_high),
                "test_p_two_sided": comparison.p_two_sided,
                "test_fixed": comparison.fixed,
                "test_broken": comparison.broken,
                "rules_accepted": len(state.get("accepted_rule_ids", [])),
                "rules_proposed": len(rules),
                "rules_pruned": sum(rule.status == "pruned" for rule in rules),
                "iterations": state.get("iteration", 0),
                "stop_reason": state.get("stop_reason") or "done",
            }
        )
        return {"metrics": as_json(metrics), "optimized_prompt": prompt.describe()}

    async def report(
        self, state: DistillState, config: RunnableConfig, runtime: Ctx
    ) -> DistillState:
        """Write the run directory's outputs; release the graph's own resources."""
        resources = await self._resources(state, runtime)
        totals = resources.totals()
        metrics = metrics_of(state).model_copy(
            update={"spend": as_json(totals.report()), "elapsed_s": totals.elapsed_s}
        )
        report = await write_run_outputs(
            resources.directory,
            prompt=self._prompt(state),
            accepted=accepted_rules(state),
            rules=rules_of(state),
            metrics=metrics,
            history=history_of(state),
            spend=totals.report(),
        )
        resources.emit(PhaseEvent(phase="done", run_dir=state["run_dir"], report=str(report)))
        await release(runtime, state.get("run_dir"))
        return {
            "metrics": as_json(metrics),
            "spend": as_json(totals),
            "report_path": str(report),
        }

    def _prompt(self, state: DistillState, rules: list[str] | None = None) -> StudentPrompt:
        """The incumbent prompt, placed where the config says.

        The base prompt and the accepted rules in acceptance order (or the `rules` given).
        """
        if rules is None:
            rules = [rule.text for rule in accepted_rules(state)]
        placement = self.setup.config.prompt.rule_placement
        return StudentPrompt(base=state["base_prompt"], rules=tuple(rules), placement=placement)


def _spent(resources: RunResources) -> bool:
    return bool(budget_reason(resources.totals(), resources.ledger.budget))


def _accepted_before(state: DistillState) -> int:
    """Rules in the prompt before this round (accepted in an earlier iteration, not pruned)."""
    iteration = state.get("iteration", 0) + 1
    return sum(rule.iteration < iteration for rule in accepted_rules(state))
