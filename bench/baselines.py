"""Baseline accuracy of the embedded local models with the plain base prompt.

Every distillation result is compared with this table. For each model (SmolLM2-135M,
Qwen2.5-Coder-0.5B, Qwen2.5-Coder-1.5B) and task (HumanEval, MultiArith, GSM8K) it runs the
same student -> verifier path as `concept-distill eval` on a fixed slice: the FIRST `--limit`
(100) examples in data-file order, i.e. HumanEval/0-99, MultiArith items 0-99 of multiarith.json
and GSM8K test lines 0-99 (MultiArith's slice holds 90 distinct questions: a repeated one is
answered once, and its twin replayed from the cache). The system prompt is the config default
("You are a helpful assistant."), sampling is greedy and replies are capped at 512 tokens.

Accuracy is correct / judged with a Wilson 95% interval. Examples/s is the runner's rate on
uncached examples (generation and judging overlapped, 4 server slots), summed over resumed runs.
Each server runs ONE thread by default: on a shared 2-core machine llama.cpp's spinning threads
collapse when oversubscribed (64 SmolLM2 tokens took 40 s with 2 threads, 1.8 s with 1).

Resumable: every reply goes to a SQLite response cache as soon as it arrives, and finished
cells to a JSON file next to it (default `$XDG_CACHE_HOME/concept-distill/bench/`, outside the
repository), so a killed run restarts where it stopped. After a change to answer extraction or
judging, `--rescore` judges the finished cells again from the cache alone, with no server. Usage:
    .venv/bin/python bench/baselines.py [--models smollm2-135m ...] [--tasks humaneval ...]
        [--limit 100] [--max-tokens 512] [--threads 1] [--cache-dir DIR] [--table-only | --rescore]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

import anyio
from pydantic import BaseModel

from concept_distill.agents.student import ChatStudent
from concept_distill.agents.verifier import TaskVerifier
from concept_distill.config import DEFAULT_BASE_PROMPT
from concept_distill.local import LlamaServer, default_cache_dir, get_model
from concept_distill.loop.evaluation import Evaluation, ProgressCallback, evaluate
from concept_distill.loop.stats import wilson_interval
from concept_distill.models import ModelConfig, ModelSet
from concept_distill.records import ExampleResult
from concept_distill.sandbox import Sandbox
from concept_distill.tasks import Task, build_task

MODELS = ("smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b")
TASKS = ("humaneval", "multiarith", "gsm8k")
RUN_ORDER = ("multiarith", "gsm8k", "humaneval")  # math first: it needs no sandbox
SLOTS = 4
OFFLINE = "http://127.0.0.1:9/v1"
"""Where --rescore sends requests: nowhere (port 9 refuses), so a cache miss shows as unjudged."""


class Cell(BaseModel):
    """One finished (model, task) measurement."""

    model: str
    task: str
    examples: int
    correct: int
    judged: int
    unjudged: int
    completion_tokens: int
    fresh: int = 0
    fresh_seconds: float = 0.0

    @property
    def rate(self) -> float | None:
        """Uncached examples per second, when any were run."""
        return self.fresh / self.fresh_seconds if self.fresh and self.fresh_seconds else None


def load_cells(path: Path) -> dict[str, Cell]:
    """Finished cells by `model/task/nLIMIT/tMAX_TOKENS`."""
    if not path.exists():
        return {}
    return {key: Cell.model_validate(value) for key, value in json.loads(path.read_text()).items()}


def save_cells(path: Path, cells: dict[str, Cell]) -> None:
    """Write the cells atomically, so a kill never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({k: c.model_dump() for k, c in cells.items()}, indent=1))
    temporary.replace(path)


def progress(model: str, task: str, total: int) -> tuple[list[int], ProgressCallback]:
    """A callback printing a log line every 10 examples (and the counts it keeps)."""
    counts = [0, 0, 0]  # done, correct, cached

    def report(result: ExampleResult) -> None:
        counts[0] += 1
        counts[1] += result.judgement.correct
        counts[2] += result.attempt.cached
        if counts[0] % 10 == 0 or counts[0] == total:
            print(
                f"{time.strftime('%H:%M:%S')} {model} {task}: {counts[0]}/{total} done, "
                f"{counts[1]} correct, {counts[2]} cached",
                flush=True,
            )

    return counts, report


async def run_cell(
    model: str, task: Task, limit: int, models: ModelSet, sandbox: Sandbox | None
) -> tuple[Evaluation, int]:
    """Evaluate one model on one task's slice; returns the evaluation and its uncached count."""
    examples = task.load()[:limit]
    counts, report = progress(model, task.name, len(examples))
    evaluation = await evaluate(
        DEFAULT_BASE_PROMPT,
        examples,
        student=ChatStudent(models["student"], task),
        verifier=TaskVerifier(task, sandbox),
        concurrency=SLOTS,
        on_result=report,
    )
    return evaluation, len(examples) - counts[2]


async def run_model(
    model: str, tasks: Sequence[str], args: argparse.Namespace, cells: dict[str, Cell]
) -> None:
    """Serve one model and run its unfinished tasks (with --rescore: its finished ones, cached)."""
    todo = [
        t for t in RUN_ORDER if t in tasks and (cell_key(model, t, args) in cells) is args.rescore
    ]
    if not todo:
        return
    async with AsyncExitStack() as stack:
        if args.rescore:
            base_url = OFFLINE
        else:
            server = LlamaServer(model, parallel=SLOTS, threads=args.threads)
            base_url = (await stack.enter_async_context(server)).base_url
        config = ModelConfig(
            base_url=base_url,
            model=model,
            temperature=0.0,
            max_tokens=args.max_tokens,
            timeout_s=3600.0,
            max_concurrency=SLOTS,
            max_retries=0 if args.rescore else 2,
            cache_endpoint="local",
        )
        cache = args.cache_dir / "baselines.sqlite"
        models = await stack.enter_async_context(ModelSet({"student": config}, cache_path=cache))
        for name in todo:
            task = build_task(name, data_dir=args.data_dir)
            try:
                sandbox = await stack.enter_async_context(Sandbox()) if task.checks_code else None
                evaluation, fresh = await run_cell(model, task, args.limit, models, sandbox)
            except Exception as error:  # a broken cell is retried by the next run
                print(f"{model} {name}: FAILED ({type(error).__name__}: {error})", flush=True)
                continue
            key = cell_key(model, name, args)
            cells[key] = make_cell(model, name, evaluation, fresh, cells.get(key))
            save_cells(args.cache_dir / "baselines.json", cells)


def make_cell(
    model: str, task: str, evaluation: Evaluation, fresh: int, before: Cell | None
) -> Cell:
    """The cell's counts from this evaluation; its rate from every run that made calls."""
    return Cell(
        model=model,
        task=task,
        examples=len(evaluation.results),
        correct=evaluation.correct,
        judged=evaluation.judged,
        unjudged=evaluation.unjudged,
        completion_tokens=evaluation.completion_tokens,
        fresh=fresh + (before.fresh if before else 0),
        fresh_seconds=(evaluation.seconds if fresh else 0.0)
        + (before.fresh_seconds if before else 0.0),
    )


def cell_key(model: str, task: str, args: argparse.Namespace) -> str:
    """Cells are kept per slice size and reply cap, so a smoke run never poses as the table."""
    return f"{model}/{task}/n{args.limit}/t{args.max_tokens}"


def table(cells: dict[str, Cell], args: argparse.Namespace) -> str:
    """The markdown table of every finished cell, models in registry order."""
    lines = [
        "| model | task | correct / judged | accuracy | 95% CI | unjudged | tokens/reply | ex/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in MODELS:
        for task in TASKS:
            cell = cells.get(cell_key(model, task, args))
            if cell is None:
                continue
            low, high = wilson_interval(cell.correct, cell.judged)
            accuracy = cell.correct / cell.judged if cell.judged else 0.0
            rate = f"{cell.rate:.3f}" if cell.rate else "-"
            lines.append(
                f"| {get_model(model).title} | {task} | {cell.correct} / {cell.judged} "
                f"| {accuracy:.2f} | {low:.2f}-{high:.2f} | {cell.unjudged} "
                f"| {cell.completion_tokens / max(1, cell.examples):.0f} | {rate} |"
            )
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--limit", type=int, default=100, help="First N examples of each task.")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads per server.")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="math data files; default: the package's"
    )
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir() / "bench")
    parser.add_argument("--table-only", action="store_true", help="Print the stored table.")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="Judge finished cells again from the cache alone (after an extractor change).",
    )
    return parser.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    path = args.cache_dir / "baselines.json"
    cells = load_cells(path)
    if not args.table_only:
        for model in args.models:
            await run_model(model, args.tasks, args, cells)
    print(table(cells, args), flush=True)


if __name__ == "__main__":
    anyio.run(main, parse())
