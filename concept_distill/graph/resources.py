"""`RunResources`: everything one invocation of the graph uses, opened and closed by one owner.

`async with RunResources(config) as resources:` loads the data (before any model call), opens
the run directory (a fresh one, or the one named) and locks it for this process alone (see
`run_lock.py`), the call ledger and `run.log`, and builds the three agents the same way whatever
each role is: an endpoint in the config, an embedded local model, a LangChain chat model, any
`ChatRole`, or a ready agent. Embedded llama-servers and code sandboxes come from the
process-wide `SHARED` pool (reference-counted, so concurrent runs share them); clients, the
ledger and the run directory belong to this invocation alone. With `storage.backend: postgres` it
also opens the shared database (`storage/postgres.py`): the response cache, the ledger and the
checkpoints live there, under the run id, and the run is claimed there for this process alone,
so another host can resume it with an empty run directory. Only whoever entered it closes it:
`distill()` for the CLI and the Python API, or the graph itself when it runs without one
(LangGraph Server, Studio, a plain `ainvoke`), see `graph/scope.py`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import logging.handlers
import os
import queue
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.config import get_stream_writer

from concept_distill.agents.contracts import Student, Teacher, Verifier
from concept_distill.agents.student import ChatStudent
from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.agents.teacher import ChatTeacher
from concept_distill.agents.verifier import TaskVerifier
from concept_distill.config import Config, LocalRole, config_as_yaml
from concept_distill.errors import ConfigError
from concept_distill.events import Event, ProgressEvent
from concept_distill.graph.run_lock import RunLock
from concept_distill.graph.shared import SHARED
from concept_distill.loop.evaluation import Evaluation, evaluate
from concept_distill.models import ChatRole, ModelConfig, ModelSet, RoleModel
from concept_distill.models.cache import ReplyCache
from concept_distill.models.ledger import LEDGER_FILE, Budget, CallLedger, LedgeredRole, RunTotals
from concept_distill.records import Example, ExampleResult
from concept_distill.report.run_dir import RunDirectory, jsonl_text
from concept_distill.tasks import Task, build_task, make_splits
from concept_distill.tasks.splits import SplitName

if TYPE_CHECKING:
    from concept_distill.storage.postgres import PostgresStorage

CHECKPOINTS = "checkpoints.sqlite"
"""The SQLite checkpoint file in the run directory (`storage.backend: sqlite`)."""
SQLITE_THREAD_ID = "distill"
"""The thread of a run whose checkpoints are a file of its own: one thread per file."""

CURRENT_RUN: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "concept_distill_run", default=None
)
"""The run directory of the invocation this task works for: routes log lines to its run.log."""


@dataclass(frozen=True)
class ChatModelRole:
    """A LangChain chat model for a role, with the name its replies are cached under.

    Limits and retries of the model layer apply. Without a `name`, nothing is cached (the
    model's identity cannot be known). Tokens come from the replies' `usage_metadata`.
    """

    model: BaseChatModel
    name: str | None = None
    max_concurrency: int = 4


RoleInput = ModelConfig | LocalRole | BaseChatModel | ChatModelRole | ChatRole
"""What a role may be: an endpoint, a local model, a LangChain model, or a `ChatRole`."""


class RunResources:
    """The models, sandbox, data, run directory and ledger of one invocation."""

    def __init__(
        self,
        config: Config,
        *,
        run_dir: Path | None = None,
        student: Student | RoleInput | None = None,
        teacher: Teacher | RoleInput | None = None,
        verifier: Verifier | None = None,
        require_teacher: bool = True,
        label: str = "distill",
        run_id: str | None = None,
        fresh: bool | None = None,
    ) -> None:
        """Nothing is opened here; `async with` opens it all.

        Args:
            config: the run's config.
            run_dir: the run directory to use (created if missing); None: a fresh one under
                `config.run_dir`, named `<time>-<label>-<task>`.
            student: the student role or agent; None: `config.models.student`.
            teacher: the teacher role or agent; None: `config.models.teacher`.
            verifier: a verifier agent; None: the task's scorer, or the sandbox for code.
            require_teacher: False for an evaluation, which needs no teacher and opens none.
            label: names a fresh run directory (`distill`, `eval-test`, ...).
            run_id: the run's id in a shared database; None: the run directory's name.
            fresh: with PostgreSQL storage, True refuses a run id the database knows (a new
                run), False one it does not (a resume); None accepts either.
        """
        self.config = config
        self._label = label
        self._requested_dir = run_dir
        self._given_student, self._given_teacher = student, teacher
        self._given_verifier = verifier
        self._require_teacher = require_teacher
        self._run_id = run_id
        self._fresh = fresh
        self.storage: PostgresStorage | None = None
        self._stack = AsyncExitStack()
        self._limiter = anyio.CapacityLimiter(config.concurrency)
        self.task: Task = _build_task(config)
        self.splits: dict[SplitName, list[Example]] = {}
        self._vocabulary: frozenset[str] | None = None
        self.run_dir: RunDirectory | None = None
        self.ledger = CallLedger(None)
        self._student: Student | None = None
        self._teacher: Teacher | None = None
        self._verifier: Verifier | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> RunResources:
        try:
            await self._open()
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._stack.aclose()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await self._stack.aclose()

    async def _open(self) -> None:
        config = self.config
        if self._given_student is None and config.models.student is None:
            raise ConfigError("models.student: no student model")
        if self._require_teacher and self._given_teacher is None and config.models.teacher is None:
            raise ConfigError("models.teacher: a distillation needs a teacher model")
        examples = await anyio.to_thread.run_sync(self.task.load)
        self.splits = make_splits(examples, config.splits)
        # Models, servers and the sandbox first: a missing key, binary or isolation layer fails
        # here, before a run directory exists, so a run that never started leaves none behind.
        self.ledger = CallLedger(None, Budget.model_validate(config.budget.model_dump()))
        if config.storage.backend == "postgres":
            self.storage = await self._stack.enter_async_context(_postgres(config))
        roles = await self._roles()
        if isinstance(self._given_student, Student):
            self._student = self._given_student
        else:
            self._student = ChatStudent(roles["student"], self.task)
        if isinstance(self._given_teacher, Teacher):
            self._teacher = self._given_teacher
        elif "teacher" in roles:
            self._teacher = ChatTeacher(
                roles["teacher"],
                self.task,
                max_rules=config.loop.rules_per_batch,
                rule_form=config.loop.rule_form,
                chars_per_token=config.loop.chars_per_token,
            )
        self._verifier = self._given_verifier or await self._default_verifier()
        self.run_dir = await anyio.to_thread.run_sync(
            _open_run_dir, config, self._requested_dir, self._label
        )
        # Before anything is written there: a second process on this directory is refused.
        lock = RunLock(self.run_dir.path)
        await anyio.to_thread.run_sync(lock.acquire)
        self._stack.push_async_callback(anyio.to_thread.run_sync, lock.release)
        self._stack.enter_context(_run_log(self.run_dir.path))
        CURRENT_RUN.set(str(self.run_dir.path))
        if self.storage is None:
            await self.ledger.open(self.run_dir.path / LEDGER_FILE)
            return
        # One process per run id across hosts; then the run is known (or refused) and its
        # ledger read back from the database.
        await self._stack.enter_async_context(self.storage.claim(self.run_id))
        await self.storage.register(self.run_id, config_as_yaml(config), fresh=self._fresh)
        await self.ledger.open(self.storage.ledger(self.run_id))

    async def _roles(self) -> dict[str, ChatRole]:
        """Each role that is not a ready agent, as a ledgered `ChatRole`."""
        config = self.config
        wanted: dict[str, Any] = {}
        for role, given, spec in (
            ("student", self._given_student, config.models.student),
            (
                "teacher",
                self._given_teacher,
                config.models.teacher if self._require_teacher else None,
            ),
        ):
            if isinstance(given, Student | Teacher):
                continue  # a ready agent: used as it is
            wanted[role] = given if given is not None else spec
        wanted = {role: spec for role, spec in wanted.items() if spec is not None}
        endpoints: dict[str, ModelConfig] = {
            role: spec for role, spec in wanted.items() if isinstance(spec, ModelConfig)
        }
        local = {role: spec for role, spec in wanted.items() if isinstance(spec, LocalRole)}
        if local:
            endpoints.update(await self._local_endpoints(local))
        shared = self.storage.cache() if self.storage is not None else None
        cache_path = None if shared is not None else config.response_cache()
        if cache_path is not None:
            await anyio.to_thread.run_sync(
                lambda: cache_path.parent.mkdir(parents=True, exist_ok=True)
            )
        # Building clients reads CA bundles and sets up HTTP pools: off the event loop.
        models = await anyio.to_thread.run_sync(
            lambda: ModelSet(endpoints, cache_path=cache_path, cache=shared)
        )
        models = await self._stack.enter_async_context(models)
        roles: dict[str, ChatRole] = {}
        for role, spec in wanted.items():
            if role in endpoints:
                chosen = endpoints[role]
                prices = (chosen.input_price_per_mtok, chosen.output_price_per_mtok)
                roles[role] = LedgeredRole(
                    models[role], self.ledger, model=chosen.model, prices=prices
                )
            elif isinstance(spec, BaseChatModel | ChatModelRole):
                wrapped = _wrap_chat_model(role, spec, models.cache)
                self._stack.push_async_callback(wrapped.aclose)
                roles[role] = LedgeredRole(wrapped, self.ledger, model=wrapped.config.model)
            else:
                roles[role] = LedgeredRole(spec, self.ledger, model=type(spec).__name__)
        return roles

    async def _local_endpoints(self, local: dict[str, LocalRole]) -> dict[str, ModelConfig]:
        from concept_distill.local.roles import local_role_configs, server_arguments
        from concept_distill.local.server import LlamaServer

        server = self.config.local_server
        base_urls: dict[str, str] = {}
        for key in sorted({spec.local for spec in local.values()}):
            running = await self._stack.enter_async_context(
                SHARED.acquire(
                    ("llama-server", key, server),
                    partial(LlamaServer, key, **server_arguments(server)),
                )
            )
            base_urls[key] = running.base_url
        return local_role_configs(base_urls, local, server)

    async def _default_verifier(self) -> Verifier:
        if not self.task.checks_code:
            return TaskVerifier(self.task)
        from concept_distill.sandbox import Sandbox

        limits = self.config.sandbox
        sandbox = await self._stack.enter_async_context(
            SHARED.acquire(("sandbox", limits), lambda: Sandbox(limits))
        )
        return TaskVerifier(self.task, sandbox)

    # -- what the nodes use ----------------------------------------------------------------

    @property
    def directory(self) -> RunDirectory:
        """The run directory (open)."""
        assert self.run_dir is not None, "use RunResources as an async context manager"
        return self.run_dir

    @property
    def run_id(self) -> str:
        """The run's id, the same on every host: the one given, or the run directory's name."""
        return self._run_id or self.directory.path.name

    @property
    def thread_id(self) -> str:
        """The checkpoint thread: the run id in a shared database, a fixed name in a file."""
        return self.run_id if self.storage is not None else SQLITE_THREAD_ID

    @asynccontextmanager
    async def checkpointer(self) -> AsyncIterator[BaseCheckpointSaver[Any]]:
        """The run's checkpoint saver: the shared database's, or `checkpoints.sqlite` here."""
        if self.storage is not None:
            yield self.storage.checkpointer()
            return
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(
            str(self.directory.path / CHECKPOINTS)
        ) as saver:
            yield saver

    @property
    def student(self) -> Student:
        """The student agent."""
        assert self._student is not None, "use RunResources as an async context manager"
        return self._student

    @property
    def verifier(self) -> Verifier:
        """The verifier agent."""
        assert self._verifier is not None, "use RunResources as an async context manager"
        return self._verifier

    @property
    def teacher(self) -> Teacher:
        """The teacher agent (the config must have one)."""
        if self._teacher is None:
            raise ConfigError("models.teacher: a distillation needs a teacher model")
        return self._teacher

    def task_vocabulary(self) -> frozenset[str]:
        """The task's own words (train and validation questions), for the leak filter; once."""
        if self._vocabulary is None:
            from concept_distill.agents.rule_filters import task_vocabulary

            questions = [e.question for name in ("train", "validation") for e in self.splits[name]]
            self._vocabulary = task_vocabulary(questions)
        return self._vocabulary

    def examples(self) -> dict[str, Example]:
        """Every example of the splits, by id."""
        return {example.id: example for split in self.splits.values() for example in split}

    def totals(self) -> RunTotals:
        """Spend and running time of the whole run (all processes)."""
        return self.ledger.totals()

    def emit(self, event: Event, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        """A typed event: to run.log, and to `on_event` or else the graph's custom stream."""
        data = event.model_dump(mode="json")
        logging.getLogger("concept_distill.run").info("%s", json.dumps(data))
        (on_event or _writer())(data)

    async def evaluate(
        self,
        label: str,
        prompt: StudentPrompt | str,
        examples: Sequence[Example],
        config: RunnableConfig,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> Evaluation:
        """Evaluate, stream progress, and save the per-example results.

        Progress goes to the graph's custom stream, or to `on_event` outside a graph (a CLI
        command that runs no graph, such as `tips`, shows it with the run's own views).
        """
        writer = on_event or _writer()
        total, done = len(examples), 0

        def progress(result: ExampleResult) -> None:
            nonlocal done
            done += 1
            event = ProgressEvent(label=label, done=done, total=total, cached=result.attempt.cached)
            writer(event.model_dump(mode="json"))

        evaluation = await evaluate(
            prompt,
            examples,
            student=self.student,
            verifier=self.verifier,
            concurrency=self.config.concurrency,
            on_result=progress,
            config=config,
            label=label,
            limiter=self._limiter,
            limits=self.config.failures,
        )
        name, text = f"results/{label}.jsonl", jsonl_text(evaluation.results)
        await self.directory.write_text(name, text)
        if self.storage is not None:  # another worker may finish the run: it writes it again
            await self.storage.save_output(self.run_id, name, text)
        logging.getLogger("concept_distill.run").info(
            "evaluation %s: %d examples, accuracy %.3f, %d unjudged, %.0f%% cut at max_tokens, "
            "%.0f reply tokens on average",
            label, len(evaluation.results), evaluation.accuracy, evaluation.unjudged,
            100 * evaluation.cut_share, evaluation.mean_completion_tokens,
        )  # fmt: skip
        return evaluation


def _build_task(config: Config) -> Task:
    return build_task(
        config.task.name,
        path=config.task.path,
        data_dir=config.task.data_dir,
        scorer=config.task.scorer,
        fields=config.task.fields,
        description=config.task.description,
        tolerance=config.task.tolerance,
    )


def _open_run_dir(config: Config, requested: Path | None, label: str) -> RunDirectory:
    """The one place a run directory is created: the one named, or a fresh one under run_dir."""
    if requested is None:
        try:
            return RunDirectory.create(config.run_dir, f"{label}-{config.task.name}")
        except OSError as error:
            reason = error.strerror or type(error).__name__
            message = f"run_dir: cannot create a run under {config.run_dir}: {reason}"
            raise ConfigError(message) from None
    if requested.exists() and not requested.is_dir():
        raise ConfigError(f"run directory {requested} exists and is not a directory")
    try:
        requested.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create run directory {requested}: {error.strerror}") from None
    if not os.access(requested, os.W_OK | os.X_OK):
        raise ConfigError(f"run directory {requested} is not writable")
    return RunDirectory(requested)


def _postgres(config: Config) -> PostgresStorage:
    from concept_distill.storage.pg_connect import database_url
    from concept_distill.storage.postgres import PostgresStorage

    env = config.storage.url_env
    return PostgresStorage(database_url(env), url_env=env)


def _wrap_chat_model(
    role: str, spec: BaseChatModel | ChatModelRole, cache: ReplyCache | None
) -> RoleModel:
    named = spec if isinstance(spec, ChatModelRole) else ChatModelRole(spec)
    identity = named.name or type(named.model).__name__
    settings = ModelConfig.model_construct(
        base_url=f"object://{identity}",
        model=identity,
        max_concurrency=named.max_concurrency,
        cache_endpoint=f"object:{identity}",
        **{
            name: field.default
            for name, field in ModelConfig.model_fields.items()
            if name not in {"base_url", "model", "max_concurrency", "cache_endpoint"}
        },
    )
    return RoleModel(role, settings, cache=cache if named.name else None, chat_model=named.model)


class _RunFilter(logging.Filter):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def filter(self, record: logging.LogRecord) -> bool:
        return CURRENT_RUN.get() == self.path


class _run_log:
    """Append this run's log lines (and only its own) to run.log, written by a listener thread."""

    def __init__(self, directory: Path) -> None:
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._file = logging.FileHandler(directory / "run.log", encoding="utf-8", delay=True)
        self._file.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        self._queue = logging.handlers.QueueHandler(records)
        self._queue.addFilter(_RunFilter(str(directory)))
        self._listener = logging.handlers.QueueListener(records, self._file)

    def __enter__(self) -> None:
        root = logging.getLogger("concept_distill")
        root.addHandler(self._queue)
        if root.level == logging.NOTSET or root.level > logging.INFO:
            root.setLevel(logging.INFO)
        self._listener.start()

    def __exit__(self, *exc_info: object) -> None:
        logging.getLogger("concept_distill").removeHandler(self._queue)
        self._listener.stop()
        self._file.close()


def _writer() -> Any:
    try:
        return get_stream_writer()
    except (RuntimeError, KeyError):
        return lambda _event: None
