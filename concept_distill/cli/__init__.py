"""The `concept-distill` command: one module per command; each parses, calls the library, exits.

Registering the commands imports only typer and the command modules, which import nothing heavy
at module level: a command imports what it uses when it runs, so `--help` and `sandbox` never
load LangGraph, LangChain or an HTTP client. Errors of this package's taxonomy print as one line,
without a traceback.
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
    # Plain click help: typer's rich help imports rich's markdown, syntax and traceback modules,
    # which alone cost about as much as python, typer and pydantic together.
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Concept Distillation: rules from a strong teacher make a weak student better."""


_registered = False


def _register_subcommands() -> None:
    global _registered
    if _registered:
        return
    from concept_distill.cli.cache import cache_app
    from concept_distill.cli.compare import compare_command
    from concept_distill.cli.eval import eval_command
    from concept_distill.cli.models import MODELS_HELP, models_app
    from concept_distill.cli.report import report_command
    from concept_distill.cli.run import run_command
    from concept_distill.cli.sandbox import sandbox_command
    from concept_distill.cli.tips import tips_command

    app.command("run")(run_command)
    app.command("eval")(eval_command)
    app.command("report")(report_command)
    app.command("compare")(compare_command)
    app.command("tips")(tips_command)
    app.command("sandbox")(sandbox_command)
    app.add_typer(cache_app, name="cache")
    app.add_typer(models_app, name="models", help=MODELS_HELP)
    _registered = True


INTERRUPTED = 130
INTERRUPTED_LINE = (
    "concept-distill: interrupted; replies already answered are in the response cache, so the "
    "same command (for a run: `concept-distill run --resume RUN_DIR`) goes on without paying "
    "for them again"
)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status (0 done, 1 system failure, 2 bad input, 130 stop)."""
    _register_subcommands()
    # `kill` (SIGTERM) gets the same orderly stop as Ctrl-C: servers and sandboxes are shut down,
    # the checkpoint stays consistent, and `run --resume` continues later.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        app(args=argv, prog_name="concept-distill", standalone_mode=True)
    except ConceptDistillError as error:
        print(f"concept-distill: error: {error}", file=sys.stderr)
        return error.exit_code
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if code == INTERRUPTED:  # typer turns Ctrl-C (and so SIGTERM) into a silent exit 130
            print(INTERRUPTED_LINE, file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print(INTERRUPTED_LINE, file=sys.stderr)
        return INTERRUPTED
    except BaseExceptionGroup as group:
        # A task group that gathered one of our errors: still one line, with its exit code.
        from concept_distill.errors import single_error

        inner = single_error(group)
        if not isinstance(inner, ConceptDistillError):
            raise
        print(f"concept-distill: error: {inner}", file=sys.stderr)
        return inner.exit_code
    finally:
        # A caller of main() in its own process (a test, a script) gets its handler back.
        signal.signal(signal.SIGTERM, previous)
    return 0
