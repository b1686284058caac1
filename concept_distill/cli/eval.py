"""`concept-distill eval`: one prompt on one split; accuracy, CI, spend, per-example results."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from concept_distill.agents.student_prompt import StudentPrompt
    from concept_distill.config import Config
    from concept_distill.loop.evaluation import Evaluation
    from concept_distill.records import ExampleResult
    from concept_distill.tasks.splits import SplitName


def eval_command(
    config_path: Annotated[Path, typer.Argument(metavar="CONFIG", help="YAML config.")],
    split: Annotated[str, typer.Option(help="train, validation, test or dev.")] = "test",
    prompt: Annotated[
        Path | None,
        typer.Option(
            help="A .txt, optimized_prompt.json, or a run's rules.jsonl (all candidates)."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key: key.sub=value.")
    ] = None,
    run_dir: Annotated[Path | None, typer.Option(help="Write results here.")] = None,
    leave_out: Annotated[
        list[str] | None,
        typer.Option(help="With --prompt: leave out this rule (by id) of the run's prompt."),
    ] = None,
    shots: Annotated[
        int,
        typer.Option(
            min=0, help="Show this many worked examples from the train split first (a baseline)."
        ),
    ] = 0,
) -> None:
    """Evaluate the student with one prompt on one split; write per-example results."""
    import anyio
    from rich.console import Console

    from concept_distill.cli.common import load_cli_config
    from concept_distill.errors import ConfigError
    from concept_distill.report.prompt import load_optimized_prompt, without_rules
    from concept_distill.tasks.splits import SPLITS

    config = load_cli_config(config_path, set_)
    if split not in SPLITS:
        raise ConfigError(f"--split must be one of {', '.join(SPLITS)}")
    if split == "dev" and not config.splits.dev:
        raise ConfigError("--split dev: the config has no dev split (splits.dev is 0)")
    if leave_out and not prompt:
        raise ConfigError("--leave-out needs --prompt (a run's optimized_prompt.json)")
    if leave_out and prompt:
        text: StudentPrompt | str = without_rules(prompt, leave_out)
    else:
        text = load_optimized_prompt(prompt) if prompt else config.prompt.base
    summary = anyio.run(_evaluate, config, split, text, run_dir, shots)
    # soft_wrap: a long line (a results path) stays whole instead of breaking at the width.
    console = Console(soft_wrap=True)
    console.print(
        f"[bold]{summary['task']}[/bold] {split}: accuracy {summary['accuracy']:.3f} "
        f"(95% CI {summary['ci_low']:.3f}-{summary['ci_high']:.3f}), "
        f"{summary['correct']}/{summary['judged']} judged correct, {summary['unjudged']} unjudged"
    )
    console.print(
        f"student: {summary['calls']} calls (+{summary['cached_calls']} cached), "
        f"{summary['prompt_tokens']} prompt + "
        f"{summary['completion_tokens']} completion tokens, {summary['seconds']:.1f}s; "
        f"{100 * summary['cut_share']:.0f}% of replies cut at max_tokens"
    )
    console.print(f"results: {summary['results_file']}")


async def _evaluate(
    config: Config, split: str, prompt: StudentPrompt | str, run_dir: Path | None, shots: int = 0
) -> dict[str, Any]:
    import anyio

    from concept_distill.agents.student_prompt import with_worked_examples
    from concept_distill.config import config_as_yaml
    from concept_distill.graph.resources import RunResources
    from concept_distill.loop.evaluation import evaluate
    from concept_distill.tasks import make_splits, split_assignment

    resources = RunResources(config, run_dir=run_dir, require_teacher=False, label=f"eval-{split}")
    if shots:  # checked before the run directory exists or a model starts
        task = resources.task
        examples = await anyio.to_thread.run_sync(task.load)
        train = make_splits(examples, config.splits)["train"]
        prompt = with_worked_examples(prompt, task, train, shots)
    async with resources:
        directory = resources.directory
        await directory.write_text("config.yaml", config_as_yaml(config))
        await directory.write_json("splits.json", split_assignment(resources.splits))
        examples = resources.splits[_split_name(split)]
        with _progress(f"{config.task.name}/{split}", len(examples)) as advance:
            evaluation = await evaluate(
                prompt,
                examples,
                student=resources.student,
                verifier=resources.verifier,
                concurrency=config.concurrency,
                on_result=advance,
                limits=config.failures,
                label=split,
            )
        spend = resources.totals().report()
        results_file = await directory.write_jsonl(f"results/{split}.jsonl", evaluation.results)
        summary = _summary(config, split, evaluation)
        summary["results_file"] = str(results_file)
        student_spend = spend.roles.get("student")
        summary["calls"] = student_spend.calls if student_spend else 0
        summary["cached_calls"] = student_spend.cached_calls if student_spend else 0
        await directory.write_json("summary.json", summary)
        await directory.write_json("spend.json", spend)
        return summary


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[ExampleResult], None]]:
    """A bar on a terminal; without one (`eval ... > eval.log`), a pace line every 10 s."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from concept_distill.cli.progress import PlainProgress
    from concept_distill.events import ProgressEvent

    if not Console(stderr=True).is_terminal:
        lines = PlainProgress(sys.stderr)
        done = 0

        def line(result: ExampleResult) -> None:
            nonlocal done
            done += 1
            cached = result.attempt.cached
            lines(ProgressEvent(label=f"eval {label}", done=done, total=total, cached=cached))

        yield line
        return
    columns = (TextColumn("[bold]eval[/bold] {task.description}"), BarColumn())
    more = (MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, *more, console=Console(stderr=True)) as progress:
        bar = progress.add_task(label, total=total)
        yield lambda result: progress.advance(bar)


def _split_name(split: str) -> SplitName:
    from concept_distill.errors import ConfigError
    from concept_distill.tasks.splits import SPLITS

    for name in SPLITS:
        if name == split:
            return name
    raise ConfigError(f"unknown split {split!r}")


def _summary(config: Config, split: str, evaluation: Evaluation) -> dict[str, Any]:
    low, high = evaluation.interval
    return {
        "task": config.task.name,
        "split": split,
        "examples": len(evaluation.results),
        "correct": evaluation.correct,
        "judged": evaluation.judged,
        "unjudged": evaluation.unjudged,
        "accuracy": evaluation.accuracy,
        "ci_low": low,
        "ci_high": high,
        "prompt_tokens": evaluation.prompt_tokens,
        "completion_tokens": evaluation.completion_tokens,
        "seconds": evaluation.seconds,
        "cut_share": evaluation.cut_share,
    }
