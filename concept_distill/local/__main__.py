"""`python -m concept_distill.local fetch|build-server|serve|doctor`: the Makefile's entry.

Works before the main CLI registers the `models` sub-app, and prints this package's errors in
one line (exit 2 for the user's mistakes) instead of a traceback.
"""

from __future__ import annotations

import sys

from concept_distill.errors import ConceptDistillError


def main(argv: list[str] | None = None) -> int:
    """Run the `models` sub-app and return its exit status."""
    from concept_distill.local.cli import app

    try:
        app(args=argv, prog_name="python -m concept_distill.local")
    except ConceptDistillError as error:
        print(f"concept-distill models: error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
