"""Overhead of the model layer over a bare HTTP client, against the fake server with latency.

Runs the fake OpenAI-compatible server in a child process (so its CPU does not share our event
loop), injects a fixed latency per reply, and sends the same number of distinct chat requests at
a fixed concurrency through:

  httpx        a bare httpx.AsyncClient posting the JSON body (the floor);
  chatopenai   langchain-openai's ChatOpenAI with SDK retries off (what the issue mandates);
  rolemodel    RoleModel without a cache (limits, retries, accounting);
  rolemodel+cache  RoleModel with the SQLite cache (every call a miss: lookup + store).

Prints requests/s per client (median of rounds; the clients' order rotates per round), the
overhead of each relative to httpx and to chatopenai (paired within a round, then the median),
and the client's CPU time per request, which is less sensitive to a busy machine. Usage:
    .venv/bin/python bench/model_overhead.py [--requests 480] [--concurrency 16] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import httpx
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from concept_distill.models import ModelConfig, ResponseCache, RoleModel

Sender = Callable[[int], Awaitable[None]]


def _prompt(index: int, round_: int, name: str) -> str:
    return f"[{name} r{round_} #{index}] Solve step by step: what is {index} plus {round_}?"


async def _measure(send: Sender, *, requests: int, concurrency: int) -> tuple[float, float]:
    """Requests per second, and client CPU milliseconds per request (all threads)."""
    limiter = anyio.CapacityLimiter(concurrency)

    async def one(index: int) -> None:
        async with limiter:
            await send(index)

    started, cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as group:
        for index in range(requests):
            group.start_soon(one, index)
    elapsed, used = time.perf_counter() - started, time.process_time() - cpu
    return requests / elapsed, used / requests * 1000


def _senders(
    base_url: str, cache_dir: Path, concurrency: int, round_: int
) -> dict[str, tuple[Sender, Callable[[], Awaitable[None]]]]:
    config = ModelConfig(
        base_url=base_url, model="fake-model", max_concurrency=concurrency, max_tokens=64
    )
    http = httpx.AsyncClient(
        base_url=base_url,
        limits=httpx.Limits(max_connections=concurrency),
        headers={"Authorization": "Bearer no-key"},
    )
    chat = ChatOpenAI(
        model="fake-model",
        base_url=base_url,
        api_key=SecretStr("no-key"),
        max_retries=0,
        temperature=0.0,
        max_tokens=64,
    )
    plain = RoleModel("student", config)
    cache = ResponseCache(cache_dir / f"round{round_}.db")
    cached = RoleModel("student", config, cache=cache)

    async def via_httpx(index: int) -> None:
        body = {
            "model": "fake-model",
            "messages": [{"role": "user", "content": _prompt(index, round_, "httpx")}],
            "temperature": 0.0,
            "max_tokens": 64,
        }
        response = await http.post("/chat/completions", json=body)
        response.raise_for_status()
        response.json()

    async def via_chatopenai(index: int) -> None:
        await chat.ainvoke([("user", _prompt(index, round_, "chat"))])

    async def via_rolemodel(index: int) -> None:
        await plain.complete([("user", _prompt(index, round_, "role"))])

    async def via_cached(index: int) -> None:
        await cached.complete([("user", _prompt(index, round_, "cached"))])

    async def nothing() -> None:
        return None

    async def check_plain() -> None:
        assert plain.spend().cached_calls == 0 and plain.spend().failed_calls == 0
        await plain.aclose()

    async def check_cached() -> None:
        # Every call must have been a real (missed) request, or the comparison is unfair.
        assert cached.spend().cached_calls == 0 and cached.spend().calls > 0
        await cached.aclose()
        await cache.aclose()

    return {
        "httpx": (via_httpx, http.aclose),
        "chatopenai": (via_chatopenai, nothing),
        "rolemodel": (via_rolemodel, check_plain),
        "rolemodel+cache": (via_cached, check_cached),
    }


async def _run(base_url: str, args: argparse.Namespace) -> dict[str, list[tuple[float, float]]]:
    results: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds + 1):
            senders = list(_senders(base_url, Path(tmp), args.concurrency, round_).items())
            shift = round_ % len(senders)  # rotate the order so no client always goes first
            for name, (send, close) in senders[shift:] + senders[:shift]:
                count = args.concurrency * 2 if round_ == 0 else args.requests
                measured = await _measure(send, requests=count, concurrency=args.concurrency)
                await close()
                if round_ > 0:  # round 0 warms up connections and imports
                    results.setdefault(name, []).append(measured)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=480)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from concept_distill.testing.fake_server import main; main()",
            "--latency",
            str(args.latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        results = anyio.run(_run, base_url, args)
    finally:
        server.terminate()
        server.wait(timeout=10)

    ceiling = args.concurrency / args.latency
    print(
        f"{args.requests} requests x {args.rounds} rounds, concurrency {args.concurrency}, "
        f"latency {args.latency * 1000:.0f} ms (ceiling {ceiling:.0f} req/s); medians"
    )
    order = ["httpx", "chatopenai", "rolemodel", "rolemodel+cache"]
    rates = {name: [rate for rate, _ in results[name]] for name in order}
    cpu = {name: statistics.median(c for _, c in runs) for name, runs in results.items()}
    for name, own in rates.items():
        # Paired per round (clients of one round ran back to back), then the median.
        vs_http = statistics.median(h / r - 1 for h, r in zip(rates["httpx"], own, strict=True))
        vs_chat = statistics.median(
            c / r - 1 for c, r in zip(rates["chatopenai"], own, strict=True)
        )
        print(
            f"  {name:16s} {statistics.median(own):6.1f} req/s  overhead vs httpx "
            f"{vs_http:+6.1%}  vs chatopenai {vs_chat:+6.1%}   client CPU {cpu[name]:.2f} "
            "ms/req   rounds: " + ", ".join(f"{rate:.0f}" for rate in own)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
