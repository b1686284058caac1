"""The trusted test runner's fork-server: runs the tests, never the candidate's code.

For each job it forks a runner that executes the test code with every name the tests use that the
candidate's program defines bound to a stub. A stub sends the call's arguments to the candidate
worker and gets back plain data (or an exception's type and message). So a pass means this
process ran every assertion against plain values. Stdlib only: this file is copied into the
sandbox.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import gc
import os
import resource
import signal
import socket
import sys
import traceback
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from concept_distill.sandbox import wire
else:  # inside the sandbox these files sit side by side, without the package
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import wire


PREIMPORTED = (
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "random",
    "string",
    "typing",
    "fractions",
    "decimal",
    "statistics",
    "hashlib",
)
_DETAIL_CHARS = 1900
_SPECIAL_EXITS = ("SystemExit", "KeyboardInterrupt", "GeneratorExit")
# Re-raised inside map()/filter()/generators in the tests, these would end a loop silently.
_NEVER_BASES = ("StopIteration", "StopAsyncIteration")


class ChannelBroken(BaseException):
    """The candidate went away or broke the protocol; no test may catch this."""


class CannotRunHere(BaseException):
    """The test passes the candidate something that cannot cross as plain data."""


class CandidateRaised(Exception):
    """Mixin marking exceptions re-raised from the candidate, to tell them from test failures."""

    traceback_text = ""
    errno_value: Any = None
    candidate_mro: tuple[str, ...] = ()


def main() -> None:
    """Serve jobs from the supervisor's control socket until it closes."""
    control_fd = int(sys.argv[sys.argv.index("--fd") + 1])
    _make_undumpable()
    for name in PREIMPORTED:
        __import__(name)
    sys.set_int_max_str_digits(0)
    control = socket.socket(fileno=control_fd)
    gc.freeze()  # keep the warm heap out of the collector's reach: fewer copied pages per fork
    signal.signal(signal.SIGALRM, _on_alarm)
    memory = 4 << 30  # room to decode a 16 MiB reply into Python objects, and no more
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    wire.send_frame(control, {"ready": True})
    while True:
        received = wire.recv_with_fd(control)
        if received is None:
            return
        job, channel_fd = received
        wire.send_frame(control, run_job(job, channel_fd, control_fd))


def _make_undumpable() -> None:
    import ctypes

    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)


class TestsTimedOut(BaseException):
    """The tests ran past the time limit (the interval timer fired)."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise TestsTimedOut


def run_job(job: dict[str, Any], channel_fd: int, control_fd: int) -> dict[str, Any]:
    """Run the job's tests here, in this trusted process, bounded by an interval timer.

    The tests never execute candidate code, so they need no process of their own; running them
    in place saves a fork per program. A fresh namespace per job keeps jobs apart.
    """
    channel = socket.socket(fileno=channel_fd)
    limit = float(job["limits"]["timeout_s"]) + 1.0
    channel.settimeout(limit)
    # The timer repeats, so a test that swallows the first interruption still gets stopped.
    signal.setitimer(signal.ITIMER_REAL, limit, 0.25)
    try:
        report = run_tests(job, channel)
    except TestsTimedOut:
        report = {"status": "timeout", "detail": "the tests did not finish within the time limit"}
    except BaseException as error:
        report = {"status": "error", "detail": f"test runner failed: {error!r}"[:500]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        channel.close()
    return report


class Candidate:
    """The trusted side of the channel to the candidate worker."""

    def __init__(self, channel: socket.socket) -> None:
        self.channel = channel
        self.calls = 0
        self.last_call = ""
        self.broken = ""

    def receive(self) -> dict[str, Any]:
        """The candidate's next message; a broken channel ends the tests (ChannelBroken)."""
        try:
            message = wire.recv_frame(self.channel)
        except wire.WireError as error:
            self._break(f"the candidate broke the protocol: {error}")
        if message is None:
            self._break("the candidate process ended before answering")
        if type(message) is not dict:
            self._break("the candidate sent a malformed message")
        result: dict[str, Any] = message
        return result

    def _break(self, reason: str) -> NoReturn:
        self.broken = self.broken or reason
        raise ChannelBroken(self.broken)

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send a message and wait for the answer."""
        try:
            wire.send_frame(self.channel, message)
        except OSError:
            self._break("the candidate process ended before answering")
        return self.receive()

    def stub(self, name: str) -> Any:
        """A function standing in for the program's `name` in the tests."""

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, args, kwargs)

        call.__name__ = call.__qualname__ = name
        return call

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call the program's `name` in the worker; plain data in, plain data (or raise) out."""
        shown = _show_call(name, args, kwargs)
        try:
            message = {
                "op": "call",
                "name": name,
                "args": wire.to_plain(args),
                "kwargs": wire.to_plain(kwargs),
            }
        except wire.NotPlainData as error:
            raise CannotRunHere(
                f"the test passes {name}() an argument that cannot cross the sandbox boundary "
                f"({error}); only plain data can"
            ) from None
        reply = self.request(message)
        self.last_call = shown
        if "ok" in reply:
            try:
                value = wire.from_plain(reply["ok"])
            except wire.WireError as error:
                self._break(f"{shown} returned malformed data: {error}")
            self.calls += 1
            self.last_call = f"{shown} returned {_short(repr(value))}"
            return value
        if "exc" in reply and type(reply["exc"]) is dict:
            self.calls += 1
            raise rebuild_exception(reply["exc"])
        if "not_plain" in reply:
            raise CannotRunHere(
                f"{shown} returned {_short(str(reply['not_plain']))}; "
                "only plain data can be checked"
            )
        return self._break("the candidate sent a malformed reply")


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_call(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    shown = [repr(arg) for arg in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return _short(f"{name}({', '.join(shown)})")


def rebuild_exception(info: dict[str, Any]) -> BaseException:
    """Re-create the candidate's exception by type name, from a builtin base, with its message."""
    name = str(info.get("type", "Exception"))[:100]
    mro = [str(entry) for entry in info.get("mro", []) if type(entry) is str]
    base: type[Exception] = Exception
    for ancestor in mro:
        candidate = getattr(builtins, ancestor, None)
        if ancestor in _NEVER_BASES:
            continue
        if isinstance(candidate, type) and issubclass(candidate, Exception):
            base = candidate
            break
    if name in _SPECIAL_EXITS:
        name = f"Candidate{name}"
    # CandidateRaised is itself an Exception: listing Exception first would be an impossible MRO.
    bases = (CandidateRaised,) if base is Exception else (base, CandidateRaised)
    klass = type(name, bases, {})
    message = str(info.get("message", ""))[:1000]
    error: CandidateRaised = klass(message)
    error.traceback_text = str(info.get("traceback", ""))[:1500]
    error.errno_value = info.get("errno")
    error.candidate_mro = tuple(mro)
    return error


def run_tests(job: dict[str, Any], channel: socket.socket) -> dict[str, Any]:
    """Run one job's tests against the candidate and return its status and detail."""
    candidate = Candidate(channel)
    tests, entry_point = str(job["tests"]), job.get("entry_point")
    trusted = str(job.get("trusted") or "")
    try:
        tree = ast.parse(tests, "<tests>")
        trusted_tree = ast.parse(trusted, "<trusted>")
    except SyntaxError as error:
        return {"status": "error", "detail": f"the test code does not compile: {error}"}
    try:
        first = candidate.receive()
        if "load_error" in first:
            return load_failure(first["load_error"])
        namespace = bind_names(candidate, tree, entry_point, defined_names(trusted_tree))
        if isinstance(namespace, dict) and "status" in namespace:
            return namespace
        exec(compile(trusted_tree, "<trusted>", "exec"), namespace)
        exec(compile(tree, "<tests>", "exec"), namespace)
        if entry_point:
            namespace["check"](namespace[entry_point])
    except TestsTimedOut:
        raise
    except BaseException as error:
        return judge_exception(error, candidate, tests)
    if candidate.broken:
        return {"status": "error", "detail": candidate.broken}
    if candidate.calls == 0:
        return {"status": "error", "detail": "the tests made no call to the program"}
    return {"status": "passed", "detail": ""}


def defined_names(tree: ast.Module) -> set[str]:
    """Top-level names trusted code defines (helpers from the prompt): never stubbed."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def bind_names(
    candidate: Candidate, tree: ast.AST, entry_point: str | None, trusted: set[str]
) -> dict[str, Any]:
    """Bind every name the tests use that the program defines (stubs, modules, data).

    Builtins and names the trusted code defines are never bound to the candidate's: a program
    must not decide what `abs` or the prompt's helper `poly` return to the tests.
    """
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    if entry_point:
        used.add(entry_point)
    wanted = sorted(
        name
        for name in used
        if not hasattr(builtins, name) and (name not in trusted or name == entry_point)
    )
    reply = candidate.request({"op": "lookup", "names": wanted})
    kinds = reply.get("names")
    if type(kinds) is not dict:
        candidate._break("the candidate sent a malformed reply")
    namespace: dict[str, Any] = {"__name__": "__tests__", "__builtins__": builtins}
    for name in wanted:
        kind = kinds.get(name)
        if type(kind) is not dict:
            continue
        if kind.get("kind") == "callable":
            namespace[name] = candidate.stub(name)
        elif kind.get("kind") == "module":
            _bind_module(namespace, name, kind.get("module"))
        elif kind.get("kind") == "data":
            with contextlib.suppress(wire.WireError):
                namespace[name] = wire.from_plain(kind.get("value"))
    what = (kinds.get(entry_point) or {}).get("kind", "missing") if entry_point else "callable"
    if entry_point and what != "callable":
        detail = (
            f"the program does not define `{entry_point}`"
            if what == "missing"
            else f"`{entry_point}` in the program is not a function"
        )
        return {"status": "error", "detail": detail}
    return namespace


def _bind_module(namespace: dict[str, Any], name: str, module: Any) -> None:
    """Tests may use a module the program imported; import the same stdlib module here."""
    if type(module) is not str or module.split(".")[0] not in sys.stdlib_module_names:
        return
    try:
        __import__(module)
        namespace[name] = sys.modules[module]
    except ImportError:
        pass


def load_failure(info: Any) -> dict[str, Any]:
    """The program failed before any test ran: syntax error, exception or exit at import."""
    if type(info) is not dict:
        return {"status": "error", "detail": "the program failed to load"}
    error = rebuild_exception(info)
    kind = type(error).__name__
    if isinstance(error, SyntaxError) or "SyntaxError" in str(info.get("mro")):
        text = str(info.get("text", ""))
        return {
            "status": "error",
            "detail": _trim(
                f"the program does not compile: {kind}: {error} (line {info.get('line')}: {text})"
            ),
        }
    status = "memory" if isinstance(error, MemoryError) else "error"
    return {
        "status": status,
        "detail": _trim(f"the program raised while loading: {describe(error)}"),
    }


def describe(error: BaseException) -> str:
    """Type, message, the sandbox's reason when it forbade the action, and the last frames."""
    kind = (
        type(error).__name__.removeprefix("Candidate") if _is_exit(error) else type(error).__name__
    )
    text = f"{kind}: {error}"
    hint = _forbidden_hint(error)
    if hint:
        text += f" ({hint})"
    frames = getattr(error, "traceback_text", "")
    return text + (f"\n{frames}" if frames else "")


def _is_exit(error: BaseException) -> bool:
    return type(error).__name__.removeprefix("Candidate") in _SPECIAL_EXITS


_ERRNO_HINTS = {
    1: "the sandbox forbids this operation",
    13: "the sandbox forbids this access",
    30: "the sandbox file system is read-only",
    101: "network access is disabled in the sandbox",
    97: "network access is disabled in the sandbox",
    2: "the file does not exist in the sandbox",
    11: "the sandbox limits the number of processes",
    28: "the sandbox's temporary space is full",
    27: "the sandbox limits file size",
    24: "the sandbox limits open files",
    111: "network access is disabled in the sandbox",
    99: "network access is disabled in the sandbox",
}


def _forbidden_hint(error: BaseException) -> str:
    errno = getattr(error, "errno_value", None)
    if isinstance(error, OSError) and type(errno) is int:
        return _ERRNO_HINTS.get(errno, "")
    if "gaierror" in getattr(error, "candidate_mro", []):
        return "network access is disabled in the sandbox"
    return ""


def judge_exception(error: BaseException, candidate: Candidate, tests: str) -> dict[str, Any]:
    """Turn whatever stopped the tests into a status and a detail the teacher can learn from."""
    if isinstance(error, ChannelBroken | CannotRunHere):
        return {"status": "error", "detail": _trim(str(error))}
    context = f"\nlast call: {candidate.last_call}" if candidate.last_call else ""
    if isinstance(error, CandidateRaised):
        status = "memory" if isinstance(error, MemoryError) else "error"
        where = _test_statement(error, tests)
        origin = f"\nin the test: {where}" if where else ""
        return {"status": status, "detail": _trim(f"the program raised {describe(error)}{origin}")}
    where = _test_statement(error, tests)
    if isinstance(error, AssertionError):
        message = f" ({error})" if str(error) else ""
        return {
            "status": "failed",
            "detail": _trim(f"assertion failed: {where or 'assert'}{message}{context}"),
        }
    if isinstance(error, Exception):
        return {
            "status": "failed",
            "detail": _trim(
                f"the test raised {type(error).__name__}: {error} at: {where or '?'}{context}"
            ),
        }
    return {"status": "error", "detail": _trim(f"the test stopped: {type(error).__name__}")}


def _test_statement(error: BaseException, tests: str) -> str:
    """The source of the innermost test statement the error passed through."""
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == "<tests>"]
    if not lines or lines[-1] is None:
        return ""
    lineno = lines[-1]
    tree = ast.parse(tests)
    best: ast.stmt | None = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(
            node, ast.FunctionDef | ast.ClassDef | ast.If | ast.For | ast.While | ast.With | ast.Try
        ):
            end = node.end_lineno or node.lineno
            if node.lineno <= lineno <= end and (best is None or node.lineno >= best.lineno):
                best = node
    segment = ast.get_source_segment(tests, best) if best is not None else None
    return _short(" ".join((segment or "").split()), 600)


def _trim(text: str) -> str:
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 3] + "..."


if __name__ == "__main__":
    main()
