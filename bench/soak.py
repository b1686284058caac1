"""Soak: concurrent distillations against faulty servers, checked for lost or duplicated work.

`--runs` distillations run at once in this process (`concept_distill.distillation.distill`,
each with its own run directory and response cache) for `--duration` seconds, a new one starting
as soon as one finishes; runs already started when the time is up are finished, and counted. The
student and teacher are fake OpenAI-compatible servers in a child process (so this process's
memory and CPU are the library's alone), each behind a `FaultInjector` that faults `--rate` of
requests (429 with and without Retry-After, 500/502/503, connection resets, read time-outs,
truncated and non-JSON bodies, empty choices). The scripted student answers a MultiArith
question right when its gold answer is even, or when the system prompt holds the helpful rule,
which the scripted teacher proposes beside a useless one; so every run has a rule to find.

Runs cycle through `--variants` configs (different split seeds). Before the soak, each variant
runs once against fault-free servers: its reference. Each run sends its own model names
(`student-<n>`, `teacher-<n>`), so the servers count requests and faults per run. A finished run
is then checked, and any difference is reported as lost or duplicated work:
  - outcome: its optimized prompt, rules.jsonl, test metrics and per-example results equal its
    reference's;
  - calls: its paid calls per role (spend.json) equal the reference's, none failed;
  - requests: the requests the servers saw for it equal paid calls plus retries (nothing paid
    twice beyond what retries explain), every injected fault was retried, and run.log has one
    line per retry;
  - files: its run directory holds the same files as its reference's, with no temporary left.
Retries beyond the injected faults are client time-outs on replies that came too late (a
loaded machine), paid twice and explained by a retry; they are reported apart.

Reported: runs started and finished, calls and server requests, faults injected, retries, this
process's resident memory (high-water mark, and after the first wave of runs against the end:
growth there would be a leak), open file descriptors and threads before and after, the load
average, and every problem found. Exit 1 when a run failed or a check did not hold. Usage:
    .venv/bin/python bench/soak.py [--duration 600] [--runs 20] [--rate 0.2] [--variants 4]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

HELPFUL = "When you give the result, end with the sentence 'The answer is N.' using digits."
USELESS = "When a problem mentions time, convert every duration to minutes first."
SPLITS = {"train": 10, "validation": 14, "test": 14}
ITERATIONS = 2
ROLE_SETTINGS = {
    # Above the injector's 2 faults in a row, with room for time-outs on a loaded machine.
    "max_retries": 5,
    "retry_backoff_s": 0.0,
    # The injector's hangs last 30 s; a reply on a busy machine takes well under a second.
    "timeout_s": 3.0,
}
ROLES = ("student", "teacher")


# -- the servers (child process) ------------------------------------------------------------


def student_reply(gold: dict[str, str]) -> Any:
    """Right on an even gold answer; on an odd one only with HELPFUL in the system prompt."""

    def reply(request: Any) -> str:
        messages = json.loads(request.body)["messages"]
        system = messages[0]["content"] if messages[0]["role"] == "system" else ""
        answer = gold[messages[-1]["content"]]
        if HELPFUL in system or int(float(answer)) % 2 == 0:
            return f"The answer is {answer}."
        return "No idea."

    return reply


def teacher_reply(request: Any) -> str:
    """Proposes the helpful and the useless rule, every time."""
    rules = [{"rule": text, "mistakes": [1]} for text in (HELPFUL, USELESS)]
    return json.dumps({"diagnosis": "No final number is given.", "rules": rules})


class CountingReplies:
    """Counts requests and faults per model name, then lets the fault injector decide."""

    def __init__(self, injector: Any) -> None:
        self.injector = injector
        self.requests: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    async def __call__(self, request: Any) -> Any:
        model = str(json.loads(request.body).get("model"))
        self.requests[model] += 1
        action = await self.injector(request)
        if not isinstance(action, str):
            self.faults[model] += 1
        return action


def serve(rate: float) -> None:
    """Serve a clean and a faulty pair of endpoints; stdin asks for counts, stdout answers.

    Prints one JSON line with the base URLs, then for every line read from stdin one JSON line
    of `{model: [requests, faults]}`, forgetting what it reported (each run is asked once).
    """
    from concept_distill.tasks import build_task
    from concept_distill.testing import FakeOpenAIServer, FaultInjector

    gold = {example.question: example.answer for example in build_task("multiarith").load()}
    replies = {"student": student_reply(gold), "teacher": teacher_reply}
    counting = {
        (kind, role): CountingReplies(
            FaultInjector(replies[role], rate=rate if kind == "faulty" else 0.0, seed=index)
        )
        for kind in ("clean", "faulty")
        for index, role in enumerate(ROLES)
    }
    servers = {key: FakeOpenAIServer(reply=reply) for key, reply in counting.items()}

    async def main() -> None:
        for server in servers.values():
            await server.start()
        urls = {f"{kind}/{role}": server.base_url for (kind, role), server in servers.items()}
        print(json.dumps(urls), flush=True)
        while await anyio.to_thread.run_sync(sys.stdin.readline):
            counts: dict[str, list[int]] = {}
            for reply in counting.values():
                for model, requests in reply.requests.items():
                    counts[model] = [requests, reply.faults[model]]
                reply.requests.clear()
                reply.faults.clear()
            # The servers keep every request for tests to read; a soak has no use for them.
            for server in servers.values():
                server._counters.requests.clear()
            print(json.dumps(counts), flush=True)
        for server in servers.values():
            await server.aclose()

    anyio.run(main)


class Servers:
    """The child process serving both pairs of endpoints."""

    def __init__(self, rate: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, "--serve", "--rate", str(rate)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None and self._process.stdin is not None
        self._stdin, self._stdout = self._process.stdin, self._process.stdout
        self.urls: dict[str, str] = json.loads(self._stdout.readline())
        self._lock = threading.Lock()
        self.counts: dict[str, list[int]] = {}

    def counts_for(self, model: str) -> tuple[int, int]:
        """Requests and faults the servers saw for `model` (call once the run is over)."""
        with self._lock:
            self._stdin.write("counts\n")
            self._stdin.flush()
            for name, figures in json.loads(self._stdout.readline()).items():
                old = self.counts.setdefault(name, [0, 0])
                old[0], old[1] = old[0] + figures[0], old[1] + figures[1]
            requests, faults = self.counts.pop(model, [0, 0])
        return requests, faults

    def close(self) -> None:
        self._stdin.close()
        self._process.wait(timeout=30)


# -- one run ----------------------------------------------------------------------------------


def make_config(work: Path, name: str, variant: int, servers: Servers, kind: str) -> Any:
    """The config of run `name`: its variant's split seed, its own cache and model names."""
    from concept_distill.config import Config

    models = {
        role: {
            "base_url": servers.urls[f"{kind}/{role}"],
            "model": f"{role}-{name}",
            **ROLE_SETTINGS,
        }
        for role in ROLES
    }
    return Config.model_validate(
        {
            "task": {"name": "multiarith"},
            "splits": {"seed": 100 + variant, **SPLITS},
            "models": models,
            "loop": {"max_iterations": ITERATIONS},
            "run_dir": str(work / "runs"),
            "cache_path": str(work / "caches" / f"{name}.sqlite"),
        }
    )


@dataclass
class Outcome:
    """What a finished run produced and paid, read back from its run directory."""

    prompt: str
    rules: str
    test: dict[str, Any]
    results: dict[str, list[str]]
    files: list[str]
    calls: dict[str, int]
    failed_calls: int
    retries: int
    logged_retries: int


def read_outcome(run_dir: Path) -> Outcome:
    """The outcome a run left in its directory."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    spend = json.loads((run_dir / "spend.json").read_text())["roles"]
    results = {}
    for path in sorted((run_dir / "results").glob("*.jsonl")):
        results[path.name] = sorted(path.read_text().splitlines())
    log = (run_dir / "run.log").read_text()
    files = sorted(str(path.relative_to(run_dir)) for path in run_dir.rglob("*"))
    return Outcome(
        prompt=json.loads((run_dir / "optimized_prompt.json").read_text())["prompt"],
        rules=(run_dir / "rules.jsonl").read_text(),
        test={key: value for key, value in metrics.items() if key.startswith("test_")},
        results=results,
        files=files,
        calls={role: spend[role]["calls"] for role in ROLES},
        failed_calls=sum(spend[role]["failed_calls"] for role in ROLES),
        retries=sum(spend[role]["retries"] for role in ROLES),
        logged_retries=sum(log.count(f"INFO concept_distill.models: {role} at ") for role in ROLES),
    )


def problems(outcome: Outcome, reference: Outcome, requests: int, faults: int) -> list[str]:
    """What this run lost or did twice, against the reference of its config."""
    found = []
    for name in ("prompt", "rules", "test", "results"):
        if getattr(outcome, name) != getattr(reference, name):
            found.append(f"{name} differs from the fault-free reference")
    if outcome.calls != reference.calls:
        found.append(f"paid calls {outcome.calls}, reference {reference.calls}")
    if outcome.failed_calls:
        found.append(f"{outcome.failed_calls} failed calls")
    paid = sum(outcome.calls.values())
    if requests != paid + outcome.retries:
        found.append(
            f"{requests} requests at the servers for {paid} calls + {outcome.retries} retries"
        )
    if faults > outcome.retries:
        found.append(f"{faults} faults injected but {outcome.retries} retries")
    if outcome.logged_retries != outcome.retries:
        found.append(f"{outcome.retries} retries but {outcome.logged_retries} in run.log")
    if outcome.files != reference.files:
        extra = set(outcome.files) ^ set(reference.files)
        found.append(f"run directory files differ from the reference: {sorted(extra)}")
    return found


# -- the soak --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """What this process holds at one moment."""

    rss_mb: float
    open_files: int
    font_files: int
    """Open fonts: matplotlib caches up to 64 per (font, thread), so these are bounded."""
    threads: int
    load: float

    @classmethod
    def now(cls) -> Snapshot:
        rss = 0.0
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        files = [_target(fd) for fd in os.listdir("/proc/self/fd")]
        fonts = sum(file.endswith(".ttf") for file in files)
        return cls(rss, len(files), fonts, threading.active_count(), os.getloadavg()[0])


def _target(fd: str) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:  # closed since it was listed
        return ""


@dataclass
class Figures:
    """What the soak measured."""

    runs: int = 0
    started: int = 0
    finished: int = 0
    failed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    calls: int = 0
    requests: int = 0
    faults: int = 0
    retries: int = 0
    seconds: float = 0.0
    run_seconds: list[float] = field(default_factory=list)
    rss_peak_mb: float = 0.0
    first_wave: Snapshot | None = None
    """Taken when as many runs as run at once have finished: the baseline for leaks."""
    start: Snapshot | None = None
    end: Snapshot | None = None

    @property
    def clean(self) -> bool:
        """Every run started finished, with no lost or duplicated work."""
        return not self.failed and not self.problems and self.finished == self.started > 0


async def run_once(
    work: Path, name: str, variant: int, servers: Servers, kind: str
) -> tuple[Outcome, int, int]:
    """Distill run `name` in `work/runs/<name>`; its outcome, the servers' requests and faults."""
    from concept_distill.distillation import distill

    config = make_config(work, name, variant, servers, kind)
    run_dir = work / "runs" / name
    await distill(config, run_dir=run_dir)
    outcome = await anyio.to_thread.run_sync(read_outcome, run_dir)
    requests = faults = 0
    for role in ROLES:
        seen = await anyio.to_thread.run_sync(servers.counts_for, f"{role}-{name}")
        requests, faults = requests + seen[0], faults + seen[1]
    return outcome, requests, faults


async def references(work: Path, variants: int, servers: Servers) -> dict[int, Outcome]:
    """Each variant's outcome against the fault-free servers, run concurrently."""
    found: dict[int, Outcome] = {}

    async def reference(variant: int) -> None:
        outcome, _, _ = await run_once(work, f"reference-{variant}", variant, servers, "clean")
        found[variant] = outcome

    async with anyio.create_task_group() as group:
        for variant in range(variants):
            group.start_soon(reference, variant)
    return found


class Soak:
    """`runs` workers, each starting run after run until the deadline, and their figures."""

    def __init__(
        self,
        work: Path,
        servers: Servers,
        expected: dict[int, Outcome],
        figures: Figures,
        keep: bool,
        progress: Callable[[str], None] | None,
    ) -> None:
        self.work, self.servers, self.expected = work, servers, expected
        self.figures, self.keep, self.progress = figures, keep, progress
        self.numbers = itertools.count()
        self.deadline = 0.0

    async def run(self, duration: float) -> None:
        """Start `figures.runs` workers; return when the last run started in time is over."""
        started = time.monotonic()
        self.deadline = started + duration
        async with anyio.create_task_group() as sampler:
            sampler.start_soon(self.sample, started)
            async with anyio.create_task_group() as workers:
                for _ in range(self.figures.runs):
                    workers.start_soon(self.worker)
            sampler.cancel_scope.cancel()
        self.figures.seconds = time.monotonic() - started

    async def worker(self) -> None:
        figures = self.figures
        while time.monotonic() < self.deadline:
            n = next(self.numbers)
            name, variant = f"{n:05d}", n % len(self.expected)
            figures.started += 1
            began = time.monotonic()
            try:
                outcome, requests, faults = await run_once(
                    self.work, name, variant, self.servers, "faulty"
                )
            except Exception as error:  # a run that fails is what the soak looks for
                figures.failed.append(f"run {name}: {type(error).__name__}: {error}")
                continue
            figures.finished += 1
            figures.run_seconds.append(time.monotonic() - began)
            if figures.finished == figures.runs:
                figures.first_wave = Snapshot.now()
            figures.calls += sum(outcome.calls.values())
            figures.requests += requests
            figures.faults += faults
            figures.retries += outcome.retries
            for problem in problems(outcome, self.expected[variant], requests, faults):
                figures.problems.append(f"run {name}: {problem}")
            if not self.keep:
                await anyio.to_thread.run_sync(_remove_run, self.work, name)

    async def sample(self, started: float) -> None:
        """Resident memory every second; a progress line every minute."""
        figures, last = self.figures, started
        while True:
            now = Snapshot.now()
            figures.rss_peak_mb = max(figures.rss_peak_mb, now.rss_mb)
            if self.progress is not None and time.monotonic() - last >= 60:
                last = time.monotonic()
                self.progress(
                    f"{last - started:.0f} s: {figures.finished} runs finished, "
                    f"{len(figures.failed) + len(figures.problems)} problems, "
                    f"RSS {now.rss_mb:.0f} MB, load {now.load:.2f}"
                )
            await anyio.sleep(1.0)


async def soak(
    duration: float,
    runs: int,
    *,
    rate: float = 0.2,
    variants: int = 4,
    keep: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Figures:
    """Run the soak and return its figures (see the module docstring)."""
    figures = Figures(runs=runs, start=Snapshot.now())
    servers = await anyio.to_thread.run_sync(Servers, rate)
    try:
        with _workspace(keep) as work:
            expected = await references(work, variants, servers)
            await Soak(work, servers, expected, figures, keep is not None, progress).run(duration)
    finally:
        await anyio.to_thread.run_sync(servers.close)
    figures.end = Snapshot.now()
    high_water = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux
    figures.rss_peak_mb = max(figures.rss_peak_mb, high_water)
    return figures


def _remove_run(work: Path, name: str) -> None:
    shutil.rmtree(work / "runs" / name)
    (work / "caches" / f"{name}.sqlite").unlink()


@contextmanager
def _workspace(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="concept-distill-soak-") as work:
        yield Path(work)


def render(figures: Figures) -> str:
    """The figures, a few lines for a terminal."""
    times = sorted(figures.run_seconds) or [0.0]
    unknown = Snapshot(0.0, 0, 0, 0, 0.0)
    start, wave = figures.start or unknown, figures.first_wave or unknown
    end = figures.end or unknown
    later = max(1, figures.finished - figures.runs)
    growth = 100 * (end.rss_mb - wave.rss_mb) / later
    lines = [
        f"runs: {figures.runs} at once for {figures.seconds:.0f} s: {figures.started} started, "
        f"{figures.finished} finished, {len(figures.failed)} failed "
        f"(run time median {times[len(times) // 2]:.1f} s, max {times[-1]:.1f} s)",
        f"calls paid: {figures.calls}; requests at the servers: {figures.requests}; faults "
        f"injected: {figures.faults}; retries: {figures.retries} "
        f"({figures.retries - figures.faults} of them time-outs on late replies)",
        f"memory (RSS): high-water {figures.rss_peak_mb:.0f} MB; {start.rss_mb:.0f} MB at the "
        f"start, {wave.rss_mb:.0f} MB after the first {figures.runs} runs, {end.rss_mb:.0f} MB "
        "at the end",
        f"growth after the first {figures.runs} runs: {growth:+.1f} MB per 100 runs",
        f"open files {start.open_files} -> {wave.open_files} -> {end.open_files} (fonts "
        f"{start.font_files} -> {wave.font_files} -> {end.font_files}); threads "
        f"{start.threads} -> {wave.threads} -> {end.threads} (same three moments)",
        f"load average (1 min) {start.load:.2f} at the start, {end.load:.2f} at the end, "
        f"{os.cpu_count()} cores",
        f"lost or duplicated work: {len(figures.problems) or 'none'}",
    ]
    lines += [f"  {problem}" for problem in figures.problems[:20]]
    lines += [f"  {failure}" for failure in figures.failed[:20]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of new runs")
    parser.add_argument("--runs", type=int, default=20, help="distillations at once")
    parser.add_argument("--rate", type=float, default=0.2, help="share of requests that fault")
    parser.add_argument("--variants", type=int, default=4, help="configs (split seeds) to cycle")
    parser.add_argument("--keep", type=Path, help="keep every run directory here")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.rate)
        return 0
    options: dict[str, Any] = {"rate": args.rate, "variants": args.variants, "keep": args.keep}

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    figures = anyio.run(lambda: soak(args.duration, args.runs, progress=progress, **options))
    print(render(figures))
    return 0 if figures.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
