"""The graph's nodes: small async functions that read the state and return an update."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import Send

from concept_distill.agents.prompts import prompt_with_rules
from concept_distill.agents.rule_filters import check_rule
from concept_distill.config import config_as_yaml
from concept_distill.graph.services import Services
from concept_distill.graph.state import DistillState, InduceInput
from concept_distill.loop.acceptance import AcceptancePolicy
from concept_distill.loop.evaluation import Evaluation, PairedOutcome, compare, paired_outcome
from concept_distill.loop.selection import select_batches
from concept_distill.records import Rule
from concept_distill.tasks import split_assignment


def _tagged(config: RunnableConfig, phase: str, **metadata: Any) -> RunnableConfig:
    """The node's config with LangSmith tags and metadata for the model calls it makes."""
    tags = [*config.get("tags", []), f"phase:{phase}"]
    return {**config, "tags": tags, "metadata": {**config.get("metadata", {}), **metadata}}


def _correct(evaluation: Evaluation) -> dict[str, bool]:
    return {
        r.example_id: r.judgement.correct
        for r in evaluation.results
        if r.judgement.outcome != "unjudged"
    }


class DistillNodes:
    """Node functions bound to one run's services and acceptance policy."""

    def __init__(self, services: Services, policy: AcceptancePolicy) -> None:
        self.services = services
        self.policy = policy
        self.config = services.config

    async def prepare(self, state: DistillState) -> DistillState:
        """Load data, make the splits, save the resolved config and split assignment."""
        runtime = await self.services.ready()
        run_dir = self.services.run_dir
        assert run_dir is not None
        await run_dir.write_text("config.yaml", config_as_yaml(self.config))
        await run_dir.write_json("splits.json", split_assignment(runtime.splits))
        base = state.get("base_prompt") or self.config.prompt.base
        self.services.emit({"event": "phase", "phase": "prepare", "run_dir": str(run_dir.path)})
        return {
            "phase": "prepare",
            "base_prompt": base,
            "optimized_prompt": base,
            "iteration": 0,
            "accepted": [],
            "shown": [],
            "idle_rounds": 0,
            "history": [],
        }

    async def initialize(self, state: DistillState, config: RunnableConfig) -> DistillState:
        """The base prompt on train (to find mistakes) and validation (the score to beat)."""
        await self.services.ready()
        self.services.emit({"event": "phase", "phase": "initialize"})
        prompt = state["base_prompt"]
        tagged = _tagged(config, "initialize", iteration=0)
        train = await self.services.evaluate(
            "initial-train", prompt, self.services.split("train"), tagged
        )
        validation = await self.services.evaluate(
            "initial-validation", prompt, self.services.split("validation"), tagged
        )
        mistakes = {r.example_id: r for r in train.results if r.judgement.outcome == "wrong"}
        record = {"iteration": 0, "validation_accuracy": validation.accuracy, "rules": 0}
        return {
            "phase": "initialize",
            "validation": _correct(validation),
            "mistakes": mistakes,
            "history": [record],
            "metrics": {
                "train_accuracy_base": train.accuracy,
                "validation_accuracy_base": validation.accuracy,
            },
        }

    async def select(self, state: DistillState) -> DistillState:
        """Pick this round's batches of unexplained mistakes not yet shown to the teacher."""
        await self.services.ready()
        loop = self.config.loop
        teacher = self.services.teacher()
        examples = self.services.examples()
        mistakes = state.get("mistakes", {})
        shown = set(state.get("shown", []))
        cost = {
            example_id: _tokens(teacher.messages("", [(examples[example_id], result)]), loop)
            for example_id, result in mistakes.items()
            if example_id not in shown
        }
        overhead = _tokens(teacher.messages(state["optimized_prompt"], []), loop)
        budget = loop.teacher_prompt_tokens - overhead
        batches = select_batches(
            mistakes,
            shown,
            batches=loop.batches_per_round,
            per_batch=loop.mistakes_per_batch,
            cost=cost,
            budget=budget,
        )
        too_big = [example_id for example_id, tokens in cost.items() if tokens > budget]
        newly_shown = [example_id for batch in batches for example_id in batch] + too_big
        self.services.emit({"event": "phase", "phase": "select", "batches": len(batches)})
        update: DistillState = {
            "phase": "select",
            "batches": batches,
            "shown": [*state.get("shown", []), *newly_shown],
        }
        if not batches:
            update["stop_reason"] = "no unexplained mistake left to show the teacher"
        return update

    def fan_out(self, state: DistillState) -> list[Send] | str:
        """One teacher branch per batch, or on to the test when there is nothing to show."""
        batches = state.get("batches", [])
        if not batches:
            return "test"
        existing = [*state.get("accepted", []), *(r.text for r in state.get("rules", []))]
        mistakes = state.get("mistakes", {})
        return [
            Send(
                "induce",
                InduceInput(
                    iteration=state.get("iteration", 0) + 1,
                    batch_index=index,
                    prompt=state["optimized_prompt"],
                    mistake_ids=batch,
                    mistakes={example_id: mistakes[example_id] for example_id in batch},
                    existing=existing,
                ),
            )
            for index, batch in enumerate(batches)
        ]

    async def induce(self, payload: InduceInput, config: RunnableConfig) -> DistillState:
        """The teacher diagnoses one batch and proposes rules; filters drop leaks and platitudes."""
        await self.services.ready()
        examples = self.services.examples()
        batch = [(examples[i], payload["mistakes"][i]) for i in payload["mistake_ids"]]
        iteration, index = payload["iteration"], payload["batch_index"]
        tagged = _tagged(config, "induce", iteration=iteration, batch=index)
        induction = await self.services.teacher().induce(payload["prompt"], batch, config=tagged)
        prefix = f"r{iteration}-{index}"
        if induction.reply is None:
            failed = Rule(
                id=f"{prefix}-malformed",
                text="",
                iteration=iteration,
                source_mistakes=payload["mistake_ids"],
                status="malformed",
                reason=induction.failure,
            )
            return {"rules": [failed]}
        problems = "\n".join(example.question for example, _ in batch)
        answers = "\n".join(f"{e.answer}\n{result.attempt.reply}" for e, result in batch)
        existing = list(payload["existing"])
        rules = []
        for number, proposal in enumerate(induction.reply.rules, start=1):
            status, reason = check_rule(proposal.rule, problems, answers, existing)
            sources = [
                payload["mistake_ids"][n - 1]
                for n in proposal.mistakes
                if 0 < n <= len(payload["mistake_ids"])
            ]
            rules.append(
                Rule(
                    id=f"{prefix}-{number}",
                    text=" ".join(proposal.rule.split()),
                    iteration=iteration,
                    source_mistakes=sources or payload["mistake_ids"],
                    diagnosis=induction.reply.diagnosis,
                    status=status,
                    reason=reason,
                )
            )
            existing.append(proposal.rule)
        self.services.emit({"event": "rules", "proposed": len(rules)})
        return {"rules": rules}

    async def validate(self, state: DistillState, config: RunnableConfig) -> DistillState:
        """Greedy acceptance on validation: keep the best supported candidate, re-check the rest.

        Each candidate is evaluated as current prompt + rule; the best one the policy accepts is
        appended, and the other accepted ones are tried again against the new prompt.
        """
        await self.services.ready()
        iteration = state.get("iteration", 0) + 1
        candidates = [
            r for r in state.get("rules", []) if r.iteration == iteration and r.status == "proposed"
        ]
        accepted = list(state.get("accepted", []))
        current = dict(state.get("validation", {}))
        decided: dict[str, Rule] = {}
        pending = list(candidates)
        while pending:
            trials = []
            for rule in pending:
                evaluation = await self._try_rule(state, accepted, rule, iteration, config)
                outcome = compare_to(current, evaluation)
                decision = self.policy.decide(outcome.comparison, candidates=len(candidates))
                trials.append((rule, evaluation, outcome, decision))
            winners = [t for t in trials if t[3].accepted]
            for rule, evaluation, outcome, decision in trials:
                decided[rule.id] = _with_evidence(rule, evaluation, outcome, decision.reason)
            if not winners:
                break
            best = max(
                winners, key=lambda t: (t[2].comparison.difference, -t[2].comparison.p_better)
            )
            rule, evaluation, _, decision = best
            decided[rule.id] = decided[rule.id].model_copy(update={"status": "accepted"})
            accepted.append(rule.text)
            current = _correct(evaluation)
            pending = [t[0] for t in winners if t[0].id != rule.id]
        for rule_id, rule in decided.items():
            if rule.status == "proposed":
                decided[rule_id] = rule.model_copy(update={"status": "rejected"})
        prompt = prompt_with_rules(state["base_prompt"], accepted)
        round_accepted = len(accepted) - len(state.get("accepted", []))
        self.services.emit({"event": "validated", "accepted": round_accepted})
        return {
            "phase": "validate",
            "rules": list(decided.values()),
            "accepted": accepted,
            "optimized_prompt": prompt,
            "validation": current,
            "round_accepted": round_accepted,
        }

    async def _try_rule(
        self,
        state: DistillState,
        accepted: list[str],
        rule: Rule,
        iteration: int,
        config: RunnableConfig,
    ) -> Evaluation:
        prompt = prompt_with_rules(state["base_prompt"], [*accepted, rule.text])
        tagged = _tagged(config, "validate", iteration=iteration, rule_id=rule.id)
        label = f"validate-{rule.id}-{len(accepted)}"
        return await self.services.evaluate(
            label, prompt, self.services.split("validation"), tagged
        )

    async def update(self, state: DistillState, config: RunnableConfig) -> DistillState:
        """Re-check the remaining train mistakes under the new prompt; count idle rounds."""
        await self.services.ready()
        iteration = state.get("iteration", 0) + 1
        mistakes = dict(state.get("mistakes", {}))
        if state.get("round_accepted", 0) and mistakes:
            examples = self.services.examples()
            tagged = _tagged(config, "update", iteration=iteration)
            recheck = await self.services.evaluate(
                f"recheck-{iteration}",
                state["optimized_prompt"],
                [examples[example_id] for example_id in sorted(mistakes)],
                tagged,
            )
            mistakes = {r.example_id: r for r in recheck.results if r.judgement.outcome == "wrong"}
        idle = 0 if state.get("round_accepted", 0) else state.get("idle_rounds", 0) + 1
        accuracy = _accuracy(state.get("validation", {}))
        record = {
            "iteration": iteration,
            "validation_accuracy": accuracy,
            "rules": len(state.get("accepted", [])),
            "accepted_this_round": state.get("round_accepted", 0),
        }
        self.services.emit({"event": "iteration", **record})
        return {
            "phase": "update",
            "iteration": iteration,
            "mistakes": mistakes,
            "idle_rounds": idle,
            "history": [*state.get("history", []), record],
        }

    def route(self, state: DistillState) -> str:
        """Loop, or stop with a recorded reason."""
        return "test" if self.stop_reason(state) else "select"

    def stop_reason(self, state: DistillState) -> str:
        """Why the loop should stop now, or '' to go on."""
        loop = self.config.loop
        if state.get("idle_rounds", 0) >= loop.patience:
            return f"no rule accepted in {loop.patience} round(s) in a row"
        if not state.get("mistakes"):
            return "no unexplained train mistake left"
        if state.get("iteration", 0) >= loop.max_iterations:
            return f"reached max_iterations ({loop.max_iterations})"
        return self._budget_spent()

    def _budget_spent(self) -> str:
        import time

        budget = self.config.budget
        spend = self.services.spend()
        student = spend.roles.get("student")
        teacher = spend.roles.get("teacher")
        if budget.student_calls and student and student.calls >= budget.student_calls:
            return f"budget: {student.calls} student calls"
        if budget.teacher_tokens and teacher:
            used = teacher.prompt_tokens + teacher.completion_tokens
            if used >= budget.teacher_tokens:
                return f"budget: {used} teacher tokens"
        cost = sum(role.cost_usd or 0.0 for role in spend.roles.values())
        if budget.cost_usd and cost >= budget.cost_usd:
            return f"budget: ${cost:.2f} spent"
        elapsed = time.monotonic() - self.services.started
        if budget.wall_s and elapsed >= budget.wall_s:
            return f"budget: {elapsed:.0f}s of wall time"
        return ""

    async def test(self, state: DistillState, config: RunnableConfig) -> DistillState:
        """Base and final prompt on the held-out test split, compared pair by pair."""
        await self.services.ready()
        self.services.emit({"event": "phase", "phase": "test"})
        tagged = _tagged(config, "test")
        examples = self.services.split("test")
        base = await self.services.evaluate("test-base", state["base_prompt"], examples, tagged)
        final = base
        if state["optimized_prompt"] != state["base_prompt"]:
            final = await self.services.evaluate(
                "test-final", state["optimized_prompt"], examples, tagged
            )
        comparison = compare(base, final)
        metrics = {
            **state.get("metrics", {}),
            "test_accuracy_base": base.accuracy,
            "test_accuracy_final": final.accuracy,
            "test_ci_base": list(base.interval),
            "test_ci_final": list(final.interval),
            "test_examples": len(examples),
            "test_unjudged": max(base.unjudged, final.unjudged),
            "test_difference": comparison.difference,
            "test_difference_ci": [comparison.ci_low, comparison.ci_high],
            "test_p_two_sided": comparison.p_two_sided,
            "test_fixed": comparison.fixed,
            "test_broken": comparison.broken,
            "rules_accepted": len(state.get("accepted", [])),
            "rules_proposed": len(state.get("rules", [])),
            "iterations": state.get("iteration", 0),
            "stop_reason": state.get("stop_reason") or self.stop_reason(state) or "done",
        }
        return {"phase": "test", "metrics": metrics}

    async def report(self, state: DistillState) -> DistillState:
        """Write the run directory (prompt, rules, spend, metrics, report) and release resources."""
        from concept_distill.report.writer import write_run_outputs

        await self.services.ready()
        assert self.services.run_dir is not None
        spend = self.services.spend()
        metrics = {**state.get("metrics", {}), "spend": spend.model_dump(mode="json")}
        await write_run_outputs(self.services.run_dir, state, metrics, spend)
        self.services.emit({"event": "phase", "phase": "done"})
        await self.services.aclose()  # a parent graph may live on: release servers now
        return {"phase": "done", "metrics": metrics}


def compare_to(current: dict[str, bool], evaluation: Evaluation) -> PairedOutcome:
    """Paired comparison of a candidate's validation results with the current prompt's."""
    return paired_outcome(current, _correct(evaluation))


def _with_evidence(rule: Rule, evaluation: Evaluation, outcome: PairedOutcome, reason: str) -> Rule:
    return rule.model_copy(
        update={
            "validation_accuracy": evaluation.accuracy,
            "validation_delta": outcome.comparison.difference,
            "p_value": outcome.comparison.p_better,
            "fixed": outcome.fixed,
            "broken": outcome.broken,
            "reason": reason,
        }
    )


def _accuracy(results: dict[str, bool]) -> float:
    return sum(results.values()) / len(results) if results else 0.0


def _tokens(messages: list[dict[str, str]], loop: Any) -> int:
    return int(sum(len(m["content"]) for m in messages) / loop.chars_per_token) + 1
