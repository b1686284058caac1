"""Throughput of the embedded llama-server: tokens/s at 1 vs N concurrent requests.

Starts `LlamaServer` once per model (N slots), warms it up, then sends greedy chat requests
that each generate exactly `--max-tokens` tokens (`ignore_eos`), first one at a time, then N
at a time, and prints completion tokens per wall-clock second and the ratio. The figures decide
how many concurrent requests a role should be allowed on a 2-core machine.

Only fetched models are measured (SmolLM2 always, as `make test` fetches it). Usage:
    .venv/bin/python bench/local_server.py [--models smollm2-135m qwen2.5-coder-0.5b]
        [--concurrency 4] [--rounds 2] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass

import anyio
import httpx

from concept_distill.local import MODELS, LlamaServer, LocalModel, fetch
from concept_distill.local.fetch import model_path

PROMPTS = [
    "Explain how a hash map handles collisions.",
    "Write a short story about a lighthouse keeper.",
    "Describe the water cycle for a ten-year-old.",
    "List the steps to bake bread at home.",
    "Why is the sky blue? Answer in detail.",
    "Summarize the rules of chess.",
    "How does a compiler turn code into machine instructions?",
    "Give advice for a first marathon.",
]


@dataclass(frozen=True)
class Run:
    """One measurement: how many requests at once, tokens generated, wall time."""

    concurrency: int
    requests: int
    tokens: int
    seconds: float

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds


async def _one(client: httpx.AsyncClient, server: LlamaServer, index: int, max_tokens: int) -> int:
    reply = await client.post(
        f"{server.base_url}/chat/completions",
        json={
            "model": server.model_names[0],
            "messages": [{"role": "user", "content": PROMPTS[index % len(PROMPTS)]}],
            "max_tokens": max_tokens,
            "temperature": 0,
            "ignore_eos": True,
        },
    )
    reply.raise_for_status()
    tokens: int = reply.json()["usage"]["completion_tokens"]
    return tokens


async def _measure(
    client: httpx.AsyncClient, server: LlamaServer, concurrency: int, rounds: int, max_tokens: int
) -> Run:
    total = 0

    async def worker(index: int) -> None:
        nonlocal total
        tokens = await _one(client, server, index, max_tokens)
        total += tokens  # not `total += await ...`: that reads `total` before awaiting

    started = time.perf_counter()
    for round_ in range(rounds):
        async with anyio.create_task_group() as group:
            for slot in range(concurrency):
                group.start_soon(worker, round_ * concurrency + slot)
    return Run(concurrency, rounds * concurrency, total, time.perf_counter() - started)


async def bench_model(
    model: LocalModel, concurrency: int, rounds: int, max_tokens: int
) -> list[Run]:
    started = time.perf_counter()
    async with LlamaServer(model, parallel=concurrency, ctx_per_slot=1024) as server:
        print(f"({model.key} ready in {time.perf_counter() - started:.1f}s)", flush=True)
        async with httpx.AsyncClient(timeout=600) as client:
            await _one(client, server, 0, 8)  # warm-up
            serial = await _measure(client, server, 1, rounds * concurrency, max_tokens)
            parallel = await _measure(client, server, concurrency, rounds, max_tokens)
    return [serial, parallel]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=["smollm2-135m", "qwen2.5-coder-0.5b"])
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    fetch(["smollm2-135m"])
    models = [MODELS[key] for key in args.models if model_path(MODELS[key]).is_file()]
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    print(f"{'model':<22}{'concurrency':>12}{'requests':>10}{'tokens':>8}{'tok/s':>9}{'ratio':>7}")
    for model in models:
        serial, parallel = anyio.run(
            bench_model, model, args.concurrency, args.rounds, args.max_tokens
        )
        for run in (serial, parallel):
            ratio = run.tokens_per_s / serial.tokens_per_s
            print(
                f"{model.key:<22}{run.concurrency:>12}{run.requests:>10}{run.tokens:>8}"
                f"{run.tokens_per_s:>9.1f}{ratio:>7.2f}",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()[0]:.1f} (figures are noise if well above 1)")


if __name__ == "__main__":
    main()
