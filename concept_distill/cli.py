"""The `concept-distill` command: thin wrappers that parse arguments, call the library, exit.

Nothing runs at import. Errors of this package's taxonomy print as one line, without a traceback.
"""

from __future__ import annotations

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


def _register_subcommands() -> None:
    from concept_distill.sandbox.cli import sandbox_command

    app.command("sandbox")(sandbox_command)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status."""
    _register_subcommands()
    try:
        app(args=argv, standalone_mode=False)
    except ConceptDistillError as error:
        print(f"concept-distill: error: {error}", file=sys.stderr)
        return error.exit_code
    except typer.Exit as done:
        return done.exit_code
    except typer.Abort:
        print("concept-distill: aborted", file=sys.stderr)
        return 130
    except Exception as error:  # click usage errors arrive here in non-standalone mode
        from click.exceptions import ClickException

        if isinstance(error, ClickException):
            error.show()
            return error.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
