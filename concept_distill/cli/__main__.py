"""`python -m concept_distill.cli`: the same as the `concept-distill` command."""

import sys

from concept_distill.cli import main

sys.exit(main())
