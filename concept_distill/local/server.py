"""Run llama.cpp's `llama-server` for local models, for exactly as long as an `async with` lasts.

The server is a child process on a free loopback port that cannot outlive us (see
`_process`). One model runs in single-model mode; several run in router mode, one instance per
model, each reached through the request's `model` field.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
import httpx
from anyio.abc import Process

from concept_distill.errors import ConceptDistillError, ConfigError
from concept_distill.local._process import free_port, spawn_tied, terminate
from concept_distill.local.build import find_server
from concept_distill.local.download import model_path
from concept_distill.local.registry import DEFAULT_TEST_MODEL, ModelRef, resolve_models

HOST = "127.0.0.1"
"""Loopback only: the embedded server has no API key and must not be reachable from outside."""


class ServerError(ConceptDistillError):
    """The local server did not start, died, or did not become healthy in time."""


class LlamaServer:
    """An async context manager owning one `llama-server` process for some local models.

    Entering starts the server and returns once every model answers; leaving stops it and
    waits until the process is gone. Clients talk to `base_url` with any OpenAI-compatible
    client, naming a model by its registry key (the server's alias for it).

    Each model gets `parallel` slots of `ctx_per_slot` tokens: llama-server divides `-c` among
    the slots, so a teacher prompt of ~3,000 tokens plus its reply needs a per-slot context of
    at least ~4,096, whatever the slot count.
    """

    def __init__(
        self,
        models: ModelRef | Iterable[ModelRef] = DEFAULT_TEST_MODEL,
        *,
        cache_dir: Path | str | None = None,
        binary: Path | None = None,
        port: int | None = None,
        parallel: int = 4,
        ctx_per_slot: int = 4096,
        threads: int | None = None,
        startup_timeout: float = 180.0,
        stop_timeout: float = 10.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        """Describe the server; nothing starts until the `async with`.

        Args:
            models: Registry keys or `LocalModel`s to serve (router mode when more than one).
            cache_dir: Cache root holding the models and the built binary; None for the default.
            binary: A `llama-server` to run instead of the one `find_server` picks.
            port: Loopback port; None picks a free one.
            parallel: Slots per model, i.e. requests served concurrently by continuous batching.
            ctx_per_slot: Context tokens each slot can hold (prompt plus reply).
            threads: CPU threads per model; None lets llama.cpp decide.
            startup_timeout: Seconds to wait for the models to load and answer.
            stop_timeout: Seconds between SIGTERM and SIGKILL when stopping.
            extra_args: More `llama-server` arguments, appended last.
        """
        self.models = resolve_models(models)
        if not self.models:
            raise ConfigError("LlamaServer needs at least one model")
        if parallel < 1 or ctx_per_slot < 256:
            raise ConfigError("parallel must be >= 1 and ctx_per_slot >= 256")
        self.cache_dir = cache_dir
        self.parallel = parallel
        self.ctx_per_slot = ctx_per_slot
        self.threads = threads
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.extra_args = tuple(extra_args)
        self._binary = binary
        self._requested_port = port
        self._port: int | None = None
        self._process: Process | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = None

    @property
    def port(self) -> int:
        """The port the server listens on (only while started)."""
        if self._port is None:
            raise RuntimeError("the server is not running; use `async with LlamaServer(...)`")
        return self._port

    @property
    def root_url(self) -> str:
        """Base of llama-server's own endpoints (`/health`, `/metrics`, `/slots`)."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """Base URL for OpenAI-compatible clients, e.g. `ChatOpenAI(base_url=...)`."""
        return f"{self.root_url}/v1"

    @property
    def model_names(self) -> list[str]:
        """The names to pass as `model` in requests, one per served model (its registry key)."""
        return [model.key for model in self.models]

    @property
    def pid(self) -> int | None:
        """Process id of the running server, or None when stopped."""
        return self._process.pid if self._process is not None else None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the server and wait until every model answers; stop it again on any failure.

        Raises:
            ConfigError: The binary or a model file is missing (the message says how to get it).
            ServerError: The process exited or did not become healthy within the timeout.
        """
        if self._process is not None:
            raise RuntimeError("this LlamaServer is already running")
        command = await anyio.to_thread.run_sync(self._command)
        try:
            assert self.log_path is not None
            log = await anyio.to_thread.run_sync(self.log_path.open, "wb")
            with log:
                self._process = await spawn_tied(command, log)
            with anyio.fail_after(self.startup_timeout):
                await self._wait_until_ready()
        except TimeoutError:
            await self.stop(keep_log=True)
            raise ServerError(
                f"llama-server did not become ready in {self.startup_timeout:.0f}s; "
                f"log: {self.log_path}"
            ) from None
        except BaseException:
            await self.stop(keep_log=True)
            raise

    async def stop(self, *, keep_log: bool = False) -> None:
        """Stop the server: SIGTERM to its process group, SIGKILL after `stop_timeout`.

        Shielded from cancellation, so a Ctrl-C or a cancelled task group still waits for the
        process to be gone. The log is deleted unless `keep_log` (kept on failures to read).
        """
        process, self._process = self._process, None
        if process is not None:
            await terminate(process, self.stop_timeout)
        self._port = None
        if self._workdir is not None and not keep_log:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._workdir.cleanup)
            self._workdir = None
            self.log_path = None

    def _command(self) -> list[str]:
        """Check that the binary and models are there, make the work dir, return the command.

        Blocking (file checks and writes): run it in a worker thread.
        """
        binary = self._binary or find_server(self.cache_dir)
        if binary is None:
            raise ConfigError(
                "llama-server is not built; run `make local-models` "
                "(or `python -m concept_distill.local build-server`)"
            )
        for model in self.models:
            path = model_path(model, self.cache_dir)
            if not path.is_file() or path.stat().st_size != model.size:
                raise ConfigError(
                    f"local model {model.key} is not fetched; run "
                    f"`python -m concept_distill.local fetch --model {model.key}`"
                )
        self._workdir = tempfile.TemporaryDirectory(prefix="concept-distill-server-")
        self.log_path = Path(self._workdir.name) / "llama-server.log"
        self._port = self._requested_port or free_port()
        common = [
            *("--host", HOST, "--port", str(self._port)),
            *("--parallel", str(self.parallel)),
            *("--ctx-size", str(self.ctx_per_slot * self.parallel)),
            *(("--threads", str(self.threads)) if self.threads else ()),
            *("--metrics", "--no-webui", "--log-colors", "off"),
        ]
        if len(self.models) == 1:
            model = self.models[0]
            target = ["--model", str(model_path(model, self.cache_dir)), "--alias", model.key]
        else:
            preset = Path(self._workdir.name) / "models.ini"
            preset.write_text(self._preset())
            target = ["--models-preset", str(preset), "--models-max", str(len(self.models))]
        return [str(binary), *target, *common, *self.extra_args]

    def _preset(self) -> str:
        """Return the router-mode INI: one section per model, named by key, loaded at startup."""
        sections = ["version = 1", ""]
        for model in self.models:
            sections += [
                f"[{model.key}]",
                f"model = {model_path(model, self.cache_dir).resolve()}",
                "load-on-startup = true",
                "",
            ]
        return "\n".join(sections)

    async def _wait_until_ready(self) -> None:
        """Poll until `/health` is OK and, in router mode, every model reports `loaded`."""
        async with httpx.AsyncClient(base_url=self.root_url, timeout=5.0) as client:
            # Polling, not an Event: readiness is only observable over HTTP.
            while True:
                if await self._ready(client):
                    return
                await anyio.sleep(0.1)

    async def _ready(self, client: httpx.AsyncClient) -> bool:
        process = self._process
        if process is None or process.returncode is not None:
            code = None if process is None else process.returncode
            raise ServerError(f"llama-server exited with {code}: {await self._log_tail()}")
        try:
            health = await client.get("/health")
            if health.status_code != 200:
                return False
            if len(self.models) == 1:
                return True
            listing = await client.get("/models")
        except httpx.TransportError:
            return False
        return listing.status_code == 200 and _all_loaded(listing.json(), self.model_names)

    async def _log_tail(self, lines: int = 5) -> str:
        """Return the last lines of the server log, joined into one line for an error message."""
        if self.log_path is None:
            return "(no log)"
        text = await anyio.Path(self.log_path).read_text(errors="replace")
        return " | ".join(text.strip().splitlines()[-lines:]) + f" (log: {self.log_path})"


def _all_loaded(listing: Any, names: list[str]) -> bool:
    """Return True when the router's `/models` listing shows every name as loaded.

    Raises:
        ServerError: The router reports that loading one of them failed.
    """
    status = {entry.get("id"): entry.get("status", {}) for entry in listing.get("data", [])}
    for name in names:
        entry = status.get(name, {})
        if entry.get("failed"):
            raise ServerError(f"llama-server could not load {name} (exit {entry.get('exit_code')})")
    return all(status.get(name, {}).get("value") == "loaded" for name in names)
