"""The `concept-distill` command: thin wrappers that parse arguments, call the library, exit.

Nothing runs at import. Errors of this package's taxonomy print as one line, without a traceback.
"""

from __future__ import annotations

import signal
import sys

import typer

from concept_distill.errors import ConceptDistillError

app = typer.Typer(
    name="concept-distill",
    help="Concept Distillation: rules from a strong teacher make a weak student better.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Concept Distillation: rules from a strong teacher make a weak student better."""


def _register_subcommands() -> None:
    from concept_distill.cli_eval import eval_command
    from concept_distill.cli_run import cache_app, report_command, run_command
    from concept_distill.sandbox.cli import sandbox_command

    app.command("run")(run_command)
    app.command("eval")(eval_command)
    app.command("report")(report_command)
    app.command("sandbox")(sandbox_command)
    app.add_typer(cache_app, name="cache")
    from concept_distill.local.cli import app as models_app

    app.add_typer(
        models_app, name="models", help="Local models: fetch, build-server, serve, doctor."
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (0 done, 1 system failure, 2 bad input)."""
    _register_subcommands()
    # `kill` (SIGTERM) gets the same orderly stop as Ctrl-C: servers and sandboxes are shut down,
    # the checkpoint stays consistent, and `run --resume` continues later.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app(args=argv, prog_name="concept-distill", standalone_mode=True)
    except ConceptDistillError as error:
        print(f"concept-distill: error: {error}", file=sys.stderr)
        return error.exit_code
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except KeyboardInterrupt:
        print("concept-distill: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
