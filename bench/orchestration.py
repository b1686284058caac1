"""Our own CPU per student call, and wall time against the ideal N*L/C, with the model elsewhere.

The student (and, for the distillation, the teacher) is the fake OpenAI-compatible server in a
child process with a fixed latency L per reply, so everything this process spends is ours. Its
student gets an arithmetic question per example and answers it right when the answer is even
or the system prompt holds the helpful rule (which the fake teacher proposes), so the verifier
scores real numbers and the distillation has a rule to accept. Three passes, one run:

  evaluate   `RunResources.evaluate` over N fresh examples at concurrency C (every call a cache
             miss): wall time against N*L/C, this process's CPU per call (all threads), and the
             memory the run holds afterwards (its results, ledger records and cache index),
             scaled to 10,000 validation results.
  distill    a whole `distill()` (graph, checkpoints, racing, audit, test) on fresh splits:
             wall time against (student calls)*L/C, and CPU per student call. A small
             distillation runs before it, unmeasured, so that the process's one-time imports
             (the graph, its checkpointer, the report's plotting) are not counted per call;
             each run's own fixed costs (checkpoints, report, plot) are.
  profile    a distillation of half the size under cProfile, timed by each thread's CPU clock
             (main thread and anyio's worker threads). Each function's own time goes to a stage
             by its module: chat client (langchain-openai and langchain-core, the openai SDK,
             httpx/httpcore/h11), model layer (models/client, retry, limits, accounting, ...),
             response cache (models/cache), ledger (models/ledger), verifier
             (agents/verifier, tasks), graph (langgraph, graph/, the checkpointer), evaluation
             loop (loop/, agents/student). The own time of shared code (pydantic, json, asyncio,
             anyio, the stdlib) is passed up to its callers in proportion to the time each
             caller spent in it, until it reaches a stage; what reaches none (the event loop
             itself, a worker thread's other work) is "other". The shares are then applied to
             the unprofiled distillation's CPU per call (the profiler's own cost inflates
             call-heavy code, so the shares lean towards it).

Prints the figures and a last line with the ratios. The load average is printed beside them:
the wall ratio needs spare cores (the fake server uses one). Usage:
    .venv/bin/python bench/orchestration.py [--quick] [--calls 10000] [--latency 0.2]
        [--concurrency 64]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

from concept_distill.config import Config
from concept_distill.distillation import distill
from concept_distill.graph.resources import RunResources
from concept_distill.testing import FakeOpenAIServer, RecordedRequest

HELPFUL = "When you give the result, end with the sentence 'The answer is N.' using digits."
_QUESTION = re.compile(r"What is (\d+) plus (\d+)\?")
TARGET_CPU_MS = 3.0

# -- the servers (child processes) ------------------------------------------------------------


def student_reply(request: RecordedRequest) -> str:
    """Right when the sum is even, or always with the helpful rule in the system prompt."""
    messages = json.loads(request.body)["messages"]
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    found = _QUESTION.search(messages[-1]["content"])
    total = int(found.group(1)) + int(found.group(2)) if found else 0
    if HELPFUL in system or total % 2 == 0:
        return f"Adding the two numbers gives {total}. The answer is {total}."
    return f"I think the answer is {total + 1}."


def teacher_reply(request: RecordedRequest) -> str:
    """A teacher that proposes the helpful rule every time."""
    rules = [{"rule": HELPFUL, "mistakes": [1]}]
    return json.dumps({"diagnosis": "No final number is given.", "rules": rules})


def serve(role: str, latency: float) -> None:
    reply = student_reply if role == "student" else teacher_reply

    async def run() -> None:
        async with FakeOpenAIServer(reply=reply, latency_s=latency) as server:
            print(server.base_url, flush=True)
            await anyio.sleep_forever()

    with suppress(KeyboardInterrupt):
        anyio.run(run)


@contextmanager
def server_process(role: str, latency: float) -> Iterator[str]:
    command = [sys.executable, __file__, "--serve", role, "--latency", str(latency)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- the configs ------------------------------------------------------------------------------


def write_task(path: Path, count: int, offset: int) -> None:
    """`count` distinct sums; `offset` keeps each pass's questions (and cache keys) apart."""
    with path.open("w") as out:
        for index in range(count):
            a, b = offset + index, 7 * index % 1000
            question = f"What is {a} plus {b}?"
            out.write(json.dumps({"id": f"q{index}", "input": question, "answer": a + b}) + "\n")


def make_config(
    directory: Path,
    data: Path,
    student_url: str,
    teacher_url: str | None,
    *,
    concurrency: int,
    splits: tuple[int, int, int],
) -> Config:
    role = {"max_concurrency": concurrency, "max_tokens": 64}
    models: dict[str, Any] = {"student": {"base_url": student_url, "model": "fake", **role}}
    if teacher_url is not None:
        models["teacher"] = {"base_url": teacher_url, "model": "fake-teacher", "max_tokens": 512}
    train, validation, test = splits
    return Config.model_validate(
        {
            "task": {"name": "jsonl", "path": str(data), "scorer": "numeric"},
            "splits": {"seed": 1, "train": train, "validation": validation, "test": test},
            "models": models,
            "loop": {"max_iterations": 2, "mistakes_per_batch": 4},
            "concurrency": concurrency,
            "run_dir": str(directory / "runs"),
            "cache_path": str(directory / "cache.sqlite"),
        }
    )


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Measured:
    calls: int
    wall_s: float
    cpu_s: float
    main_cpu_s: float
    loadavg: tuple[float, float, float]

    def ideal_s(self, latency: float, concurrency: int) -> float:
        return self.calls * latency / concurrency

    def ratio(self, latency: float, concurrency: int) -> float:
        return self.ideal_s(latency, concurrency) / self.wall_s

    @property
    def cpu_ms(self) -> float:
        return self.cpu_s / max(1, self.calls) * 1000

    @property
    def workers_ms(self) -> float:
        return (self.cpu_s - self.main_cpu_s) / max(1, self.calls) * 1000


async def timed(work: Callable[[], Awaitable[int]]) -> Measured:
    started, cpu, main = time.perf_counter(), time.process_time(), time.thread_time()
    calls = await work()
    return Measured(
        calls=calls,
        wall_s=time.perf_counter() - started,
        cpu_s=time.process_time() - cpu,
        main_cpu_s=time.thread_time() - main,
        loadavg=os.getloadavg(),
    )


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def deep_size(*roots: object) -> int:
    """Bytes of every object reachable from `roots`, shared immortals (types, modules) aside."""
    seen: set[int] = set()
    stack = list(roots)
    total = 0
    skip = (type, type(sys), type(deep_size))
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, skip):
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        stack.extend(gc.get_referents(item))
    return total


@dataclass
class EvaluationRun:
    measured: Measured
    held_bytes: int
    rss_delta: int


async def evaluation_pass(config: Config, calls: int) -> EvaluationRun:
    gc.collect()
    rss_before = rss_bytes()
    async with RunResources(config, require_teacher=False, label="bench") as resources:
        examples = resources.splits["train"][:calls]
        ledger_before = deep_size(resources.ledger)

        async def run() -> int:
            evaluation = await resources.evaluate("bench", "Solve it.", examples, {})
            holder.append(evaluation)
            return len(evaluation.results)

        holder: list[Any] = []
        measured = await timed(run)
        gc.collect()
        rss_delta = rss_bytes() - rss_before
        # What the run keeps: its results, and whatever the ledger added for them.
        held = deep_size(holder[0]) + deep_size(resources.ledger) - ledger_before
    return EvaluationRun(measured=measured, held_bytes=held, rss_delta=rss_delta)


async def distill_pass(config: Config) -> int:
    result = await distill(config)
    calls = 0
    for line in (result.run_dir / "calls.jsonl").read_text().splitlines():
        record = json.loads(line)
        calls += record["kind"] == "reply" and record["role"] == "student" and not record["cached"]
    return calls


# -- attributing CPU to stages -----------------------------------------------------------------

STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("ledger", ("concept_distill/models/ledger.py",)),
    ("cache", ("concept_distill/models/cache.py",)),  # its sqlite3 calls come up to it
    ("verifier", ("concept_distill/agents/verifier.py", "concept_distill/tasks/")),
    ("model layer", ("concept_distill/models/",)),
    ("chat: langchain", ("langchain_openai/", "langchain_core/")),
    ("chat: openai SDK", ("openai/",)),
    ("chat: httpx", ("httpx", "httpcore", "h11/")),  # httpx2/httpcore2: the fork openai 3 uses
    (
        "graph",
        ("langgraph/", "concept_distill/graph/", "concept_distill/distillation.py", "aiosqlite/"),
    ),
    ("evaluation loop", ("concept_distill/loop/", "concept_distill/agents/")),
]
OTHER = "other: event loop, threads"
ORDER = [name for name, _ in STAGES] + [OTHER]
SHOWN = [name for name in ORDER if name.startswith("chat:")] + [
    name for name in ORDER if not name.startswith("chat:")
]

Func = tuple[str, int, str]


def stage_of(func: Func) -> str | None:
    text = f"{func[0]}:{func[2]}"
    for name, prefixes in STAGES:
        if any(prefix in text for prefix in prefixes):
            return name
    return None


def attribute(stats: pstats.Stats) -> dict[str, float]:
    """Own time of every function, carried up the caller edges to the first stage it meets."""
    table: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    shares: dict[Func, dict[str, float]] = {}

    def share(func: Func, visiting: frozenset[Func]) -> dict[str, float]:
        """Where time spent under `func` belongs: a distribution over stages."""
        own = stage_of(func)
        if own is not None:
            return {own: 1.0}
        if func in shares:
            return shares[func]
        callers = table.get(func, (0, 0, 0.0, 0.0, {}))[4]
        weights = {c: edge[3] for c, edge in callers.items() if c not in visiting}
        total = sum(weights.values())
        if not total:
            return {OTHER: 1.0}
        result: dict[str, float] = {}
        for caller, weight in weights.items():
            for stage, part in share(caller, visiting | {func}).items():
                result[stage] = result.get(stage, 0.0) + part * weight / total
        shares[func] = result
        return result

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    totals = dict.fromkeys(ORDER, 0.0)
    for func, (_, _, own_time, _, callers) in table.items():
        if not own_time:
            continue
        stage = stage_of(func)
        if stage is not None:
            totals[stage] += own_time
            continue
        # The own time is split between callers by their own-time edges (exact), then up.
        edges = {c: edge[2] for c, edge in callers.items() if c != func}
        edge_total = sum(edges.values())
        if not edge_total:
            totals[OTHER] += own_time
            continue
        for caller, weight in edges.items():
            for name, part in share(caller, frozenset({func})).items():
                totals[name] += own_time * part * weight / edge_total
    return totals


@contextmanager
def profiled() -> Iterator[list[cProfile.Profile]]:
    """cProfile in this thread and in every thread started meanwhile (anyio's workers)."""
    profiles = [cProfile.Profile(time.thread_time)]

    def start_in_thread(*_: object) -> None:
        threading.setprofile(None)
        sys.setprofile(None)
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        profile.enable()

    threading.setprofile(start_in_thread)
    profiles[0].enable()
    try:
        yield profiles
    finally:
        profiles[0].disable()
        threading.setprofile(None)


def merged(profiles: list[cProfile.Profile]) -> pstats.Stats:
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        try:
            stats.add(profile)
        except TypeError:  # a thread that never ran profiled code
            continue
    return stats


# -- the benchmark ----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="student calls to evaluate")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="a smoke run (about 20 s)")
    parser.add_argument("--serve", choices=["student", "teacher"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.latency)
        return 0
    calls = 512 if args.quick else args.calls
    scale = 4 if args.quick else 1
    splits = (512 // scale, 1024 // scale, 512 // scale)
    # The profiled pass is 3-4 times slower; half the splits give the same shares.
    profiled_splits = (256 // scale, 512 // scale, 256 // scale)
    warm_splits = (32, 64, 32)
    latency, concurrency = args.latency, args.concurrency

    with (
        tempfile.TemporaryDirectory() as tmp,
        server_process("student", latency) as student_url,
        server_process("teacher", 0.0) as teacher_url,
    ):
        directory = Path(tmp)
        data = {
            name: directory / f"{name}.jsonl" for name in ("eval", "warm", "distill", "profile")
        }
        write_task(data["eval"], calls + 2, offset=0)
        write_task(data["distill"], sum(splits), offset=100_000)
        write_task(data["profile"], sum(profiled_splits), offset=200_000)
        write_task(data["warm"], sum(warm_splits), offset=300_000)

        def config(name: str, teacher: bool) -> Config:
            return make_config(
                directory / name,
                data[name],
                student_url,
                teacher_url if teacher else None,
                concurrency=concurrency,
                splits={"eval": (calls, 1, 1), "profile": profiled_splits, "warm": warm_splits}.get(
                    name, splits
                ),
            )

        evaluated = anyio.run(evaluation_pass, config("eval", False), calls)

        async def whole(name: str) -> Measured:
            return await timed(lambda: distill_pass(config(name, True)))

        # A small distillation first, not reported: the process's one-time imports (the graph,
        # its checkpointer, the report's plotting) are start-up (bench/startup.py), not per call.
        anyio.run(whole, "warm")
        distilled = anyio.run(whole, "distill")
        with profiled() as profiles:
            profiled_run = anyio.run(whole, "profile")
        stages = attribute(merged(profiles))

    report(args, evaluated, distilled, profiled_run, stages)
    return 0


def report(
    args: argparse.Namespace,
    evaluated: EvaluationRun,
    distilled: Measured,
    profiled_run: Measured,
    stages: dict[str, float],
) -> None:
    latency, concurrency = args.latency, args.concurrency
    cores = os.cpu_count()
    for name, run in (("evaluate", evaluated.measured), ("distill", distilled)):
        load = ", ".join(f"{value:.2f}" for value in run.loadavg)
        print(
            f"{name:9s} {run.calls} student calls, L={latency:g}s, C={concurrency}: "
            f"wall {run.wall_s:.1f}s vs ideal {run.ideal_s(latency, concurrency):.1f}s "
            f"= {run.ratio(latency, concurrency):.2f} of ideal; CPU {run.cpu_ms:.2f} ms/call "
            f"(worker threads {run.workers_ms:.2f}); load average {load} on {cores} cores"
        )
    per_result = evaluated.held_bytes / max(1, evaluated.measured.calls)
    print(
        f"memory    held by the evaluation's results and ledger lines: {per_result:.0f} B/result"
        f" = {per_result * 10_000 / 2**20:.1f} MiB per 10,000 validation results "
        f"(RSS grew {evaluated.rss_delta / 2**20:.1f} MiB over {evaluated.measured.calls})"
    )
    total = sum(stages.values()) or 1.0
    print(
        f"profile   CPU by stage of the distillation ({profiled_run.calls} student calls under "
        f"cProfile, {profiled_run.cpu_ms:.2f} ms/call profiled), shares applied to the "
        f"unprofiled {distilled.cpu_ms:.2f} ms/call:"
    )
    chat = sum(value for name, value in stages.items() if name.startswith("chat:")) / total
    print(f"  {'chat client':26s} {chat:6.1%}  {chat * distilled.cpu_ms:5.2f} ms/call, of which:")
    for name in SHOWN:
        share = stages[name] / total
        label = f"  {name}" if name.startswith("chat:") else name
        print(f"  {label:26s} {share:6.1%}  {share * distilled.cpu_ms:5.2f} ms/call")
    worst = max(evaluated.measured.cpu_ms, distilled.cpu_ms)
    print(
        f"orchestration: {evaluated.measured.cpu_ms:.2f} ms CPU/call evaluate, "
        f"{distilled.cpu_ms:.2f} distill (target {TARGET_CPU_MS:g}: "
        f"{'met' if worst <= TARGET_CPU_MS else 'missed'}); wall "
        f"{evaluated.measured.ratio(latency, concurrency):.2f} / "
        f"{distilled.ratio(latency, concurrency):.2f} of ideal at L={latency:g}s C={concurrency}"
        f" (load {evaluated.measured.loadavg[0]:.2f}, {os.cpu_count()} cores); "
        f"{per_result * 10_000 / 2**20:.1f} MiB per 10,000 results"
    )


if __name__ == "__main__":
    raise SystemExit(main())
