"""The small error taxonomy: user mistakes, model failures, and a sandbox that cannot run.

A failed example is never an exception (it is a verdict); these are for broken inputs or systems.
The CLI prints any of them as one line, without a traceback.
"""

from pathlib import Path


class ConceptDistillError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code = 1


class ConfigError(ConceptDistillError):
    """The user's input (config, data file, command line) is wrong; fix it and re-run."""

    exit_code = 2


class RunDirectoryInUse(ConfigError):
    """Another process holds the run directory's lock: one process per run directory.

    Fields for callers: `path` (the directory) and `pid` (the holder, when it could be read).
    """

    def __init__(self, path: Path, pid: int | None = None) -> None:
        holder = f" (pid {pid})" if pid is not None else ""
        super().__init__(
            f"run directory {path} is in use by another concept-distill process{holder}; "
            "wait for it to finish, or stop it and run --resume"
        )
        self.path = path
        self.pid = pid


class RunInUse(ConfigError):
    """Another process holds the run (a PostgreSQL advisory lock on its id): one process per run.

    Field for callers: `run_id`.
    """

    def __init__(self, run_id: str) -> None:
        super().__init__(
            f"run {run_id} is in use by another concept-distill process (maybe on another host); "
            "wait for it to finish, or stop it and resume"
        )
        self.run_id = run_id


class ModelError(ConceptDistillError):
    """A model endpoint failed; `retryable` says whether trying again later can help."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class SystemFailure(ConceptDistillError):
    """The system, not one example, is broken: the run stops (exit 1) and stays resumable.

    Raised by the circuit breakers, never for a single failed example, so that sustained failure
    is not silently recorded as a run of `unjudged` examples.
    """


class ModelUnavailable(SystemFailure):
    """A role's endpoint cannot serve this run: it refused the key or the model, or kept failing.

    Not a `ModelError`, on purpose: agents record a `ModelError` as one example's failure, while
    this one must travel up and stop the run.
    """

    def __init__(self, message: str, *, role: str, endpoint: str) -> None:
        super().__init__(message)
        self.role = role
        self.endpoint = endpoint


class SandboxUnavailable(ConceptDistillError):
    """The code sandbox cannot run here with the isolation that was asked for."""


def single_error(error: BaseException) -> BaseException:
    """The first `ConceptDistillError` inside (nested) exception groups, else `error` itself.

    A task group wraps a child's error in an ExceptionGroup; the CLI prints only a bare
    `ConceptDistillError` as one line, so task groups re-raise it through this.
    """
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = single_error(inner)
            if isinstance(found, ConceptDistillError):
                return found
    return error


def first_validation_problem(error: object) -> str:
    """The first problem of a pydantic ValidationError as `field: message`, on one line."""
    errors = getattr(error, "errors", None)
    if not callable(errors):
        return str(error).splitlines()[0]
    first = errors()[0]
    # A union's branch shows in the location by class name (`models.student.ModelConfig.model`);
    # config keys are lower case, so capitalised parts are dropped.
    parts = [str(part) for part in first.get("loc", ()) if not str(part)[:1].isupper()]
    field = ".".join(parts) or "value"
    message = "missing field" if first.get("type") == "missing" else str(first.get("msg", ""))
    return f"{field}: {message.removeprefix('Value error, ')}"
