"""The candidate fork-server: runs inside bubblewrap as an unprivileged uid, never sees tests.

A warm interpreter that has already imported what programs commonly need. For each job it forks
a monitor, which enters fresh namespaces and forks the candidate as PID 1 of its own PID
namespace (so killing it ends everything it started), enforces the wall-clock and output limits,
and reports how the candidate ended. The candidate talks to the trusted test runner only through
the job's socket, in plain data. Stdlib only: this file is copied into the sandbox.
"""

from __future__ import annotations

import contextlib
import gc
import json
import linecache
import os
import random
import select
import signal
import socket
import sys
import time
import traceback
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concept_distill.sandbox import confine, wire
else:  # inside the sandbox these files sit side by side, without the package
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import confine
    import wire


PREIMPORTED = (
    "math",
    "re",
    "collections",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "string",
    "random",
    "typing",
    "fractions",
    "decimal",
    "statistics",
    "hashlib",
    "operator",
    "copy",
    "json",
    "datetime",
    "dataclasses",
    "enum",
    "array",
    "unicodedata",
)
_OUTPUT_HEAD_BYTES = 2048
_IDS = [0, 0]  # this server's uid and gid, read before any child enters a new user namespace
_CHANNEL_FD = 3


def main() -> None:
    """Serve jobs from the supervisor's control socket until it closes."""
    control_fd = int(sys.argv[sys.argv.index("--fd") + 1])
    _IDS[:] = [os.getuid(), os.getgid()]
    confine.make_undumpable()
    for name in PREIMPORTED:
        __import__(name)
    sys.set_int_max_str_digits(0)
    control = socket.socket(fileno=control_fd)
    gc.freeze()  # keep the warm heap out of the collector's reach: fewer copied pages per fork
    layers = probe_layers()
    wire.send_frame(control, {"ready": True, "layers": layers, "python": sys.version.split()[0]})
    while True:
        received = wire.recv_with_fd(control)
        if received is None:
            return
        job, channel_fd = received
        report = run_job(job, channel_fd, layers)
        wire.send_frame(control, report)


def probe_layers() -> dict[str, str]:
    """Try every per-program layer in a throw-away child; 'ok' or the reason it failed."""
    read_end, write_end = os.pipe()
    try:
        pid = confine.clone_into_namespaces()
    except OSError as error:
        os.close(read_end)
        os.close(write_end)
        return {"namespaces": str(error)}
    if pid == 0:
        os.close(read_end)
        os.write(write_end, json.dumps(_try_layers()).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        data = reader.read()
    os.waitpid(pid, 0)
    try:
        layers: dict[str, str] = json.loads(data)
    except ValueError:
        layers = {"namespaces": "the probe died"}
    return layers


def _try_layers() -> dict[str, str]:
    results: dict[str, str] = {}
    steps: tuple[tuple[str, Callable[[], None]], ...] = (
        ("namespaces", lambda: confine.map_ids(_IDS[0], _IDS[1])),
        ("private_mounts", lambda: confine.private_mounts(1 << 20, 1 << 20)),
        ("capabilities_dropped", confine.drop_capabilities),
        ("seccomp", confine.install_seccomp),
    )
    for name, step in steps:
        try:
            step()
            results[name] = "ok"
        except OSError as error:
            results[name] = str(error)
    return results


def run_job(job: dict[str, Any], channel_fd: int, layers: dict[str, str]) -> dict[str, Any]:
    """Start the candidate confined, watch its time and output, and say how it ended."""
    limits = job["limits"]
    isolated = layers.get("namespaces") == "ok"
    output_read, output_write = os.pipe()
    started = time.monotonic()
    pid = confine.clone_into_namespaces() if isolated else os.fork()
    if pid == 0:
        os.close(output_read)
        _become_candidate(job, channel_fd, output_write, layers, isolated)
    os.close(output_write)
    os.close(channel_fd)
    try:
        report = _watch(pid, output_read, started, limits, isolated)
    finally:
        os.close(output_read)
    report["wall_s"] = round(time.monotonic() - started, 6)
    return report


def _watch(
    pid: int, output_fd: int, started: float, limits: dict[str, Any], isolated: bool
) -> dict[str, Any]:
    deadline = started + float(limits["timeout_s"])
    cap = int(limits["output_bytes"])
    pidfd = os.pidfd_open(pid)
    try:
        return _watch_until_exit(pid, pidfd, output_fd, deadline, cap, isolated)
    finally:
        os.close(pidfd)


def _watch_until_exit(
    pid: int, pidfd: int, output_fd: int, deadline: float, cap: int, isolated: bool
) -> dict[str, Any]:
    head = bytearray()
    total = 0
    killed = None
    watched = [output_fd, pidfd]
    while killed is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            killed = "timeout"
            break
        ready, _, _ = select.select(watched, [], [], remaining)
        if output_fd in ready:
            chunk = os.read(output_fd, 65536)
            if not chunk:
                watched.remove(output_fd)
            total += len(chunk)
            head += chunk[: max(0, _OUTPUT_HEAD_BYTES - len(head))]
            if total > cap:
                killed = "output_limit"
        if pidfd in ready:
            break
    if killed is not None:
        _kill(pid, isolated)
    _, status, usage = os.wait4(pid, 0)
    if not isolated:
        _kill(pid, isolated)
    if output_fd in watched and killed is None:
        total += _drain(output_fd, head, cap + 1 - total)
    return {
        "killed": killed,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "output_bytes": total,
        "output_head": head.decode("utf-8", "replace"),
        "max_rss_kb": usage.ru_maxrss,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 6),
    }


def _drain(fd: int, head: bytearray, budget: int) -> int:
    """Read what is left in the output pipe without blocking, up to `budget` bytes."""
    os.set_blocking(fd, False)
    read = 0
    while read < budget:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        read += len(chunk)
        head += chunk[: max(0, _OUTPUT_HEAD_BYTES - len(head))]
    return read


def _kill(pid: int, isolated: bool) -> None:
    """SIGKILL to PID 1 of the namespace ends every process in it; without one, the group."""
    try:
        if isolated:
            os.kill(pid, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _become_candidate(
    job: dict[str, Any], channel_fd: int, output_fd: int, layers: dict[str, str], isolated: bool
) -> None:
    """Confine this process, then run the candidate program; never returns."""
    limits = job["limits"]
    try:
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.dup2(channel_fd, _CHANNEL_FD)
        os.closerange(_CHANNEL_FD + 1, 1 << 16)
        confine.join_cgroup(job.get("cgroup_files", ()))
        if isolated:
            confine.map_ids(_IDS[0], _IDS[1])
        random.seed()  # a raw clone skips the at-fork hook that reseeds it
        os.setsid()
        if isolated and layers.get("private_mounts") == "ok":
            confine.private_mounts(int(limits["tmp_bytes"]), int(limits["shm_bytes"]))
        os.chdir("/tmp")
        if isolated and layers.get("capabilities_dropped") == "ok":
            confine.drop_capabilities()
        confine.apply_rlimits(
            memory_bytes=int(limits["memory_bytes"]),
            cpu_s=int(limits["cpu_s"]),
            file_bytes=int(limits["file_bytes"]),
            open_files=int(limits["open_files"]),
            processes=int(limits["processes"]),
        )
        if layers.get("seccomp") == "ok":
            confine.install_seccomp()
    except BaseException as error:
        sys.stderr.write(f"sandbox set-up failed: {type(error).__name__}: {error}\n")
        os._exit(70)
    serve_candidate(job["program"], socket.socket(fileno=_CHANNEL_FD))
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(0)


def describe_exception(error: BaseException) -> dict[str, Any]:
    """Plain description of an exception for the test runner and, through it, the teacher."""
    if isinstance(error, MemoryError | RecursionError):
        # Describing needs memory and stack: drop the (possibly huge) traceback first.
        error.__traceback__ = None
        gc.collect()
    try:
        return _describe(error)
    except BaseException:
        return {
            "type": type(error).__name__,
            "mro": [k.__name__ for k in type(error).__mro__],
            "message": "",
            "traceback": "",
            "errno": None,
        }


def _describe(error: BaseException) -> dict[str, Any]:
    frames = traceback.extract_tb(error.__traceback__)
    own = [frame for frame in frames if frame.filename == "<candidate>"]
    trimmed = traceback.format_list(own[-4:]) if own else []
    try:
        message = str(error)[:1000]
    except BaseException:
        message = "<unprintable message>"
    described: dict[str, Any] = {
        "type": type(error).__name__,
        "mro": [klass.__name__ for klass in type(error).__mro__],
        "message": message,
        "traceback": "".join(trimmed)[-1500:],
        "errno": getattr(error, "errno", None) if isinstance(error, OSError) else None,
    }
    if isinstance(error, SyntaxError):
        described["line"] = error.lineno
        described["text"] = (error.text or "").strip()[:200]
    return described


def serve_candidate(program: str, channel: socket.socket) -> None:
    """Load the program and answer the test runner's calls with plain data (untrusted code)."""
    module = types.ModuleType("candidate")
    sys.modules["candidate"] = module
    lines = program.splitlines(keepends=True)
    linecache.cache["<candidate>"] = (len(program), None, lines, "<candidate>")
    try:
        exec(compile(program, "<candidate>", "exec"), module.__dict__)
    except BaseException as error:
        wire.send_frame(channel, {"load_error": describe_exception(error)})
        return
    wire.send_frame(channel, {"loaded": True})
    while True:
        request = wire.recv_frame(channel)
        if request is None:
            return
        if request.get("op") == "lookup":
            wire.send_frame(channel, {"names": {n: _kind(module, n) for n in request["names"]}})
        else:
            reply = _call(module, request)
            try:
                wire.send_frame(channel, reply)
            except wire.NotPlainData as error:
                wire.send_frame(channel, {"not_plain": str(error)})


def _kind(module: types.ModuleType, name: str) -> dict[str, Any]:
    if name not in module.__dict__:
        return {"kind": "missing"}
    value = module.__dict__[name]
    if isinstance(value, types.ModuleType):
        return {"kind": "module", "module": value.__name__}
    if callable(value):
        return {"kind": "callable"}
    try:
        return {"kind": "data", "value": wire.to_plain(value)}
    except wire.NotPlainData:
        return {"kind": "other", "type": type(value).__name__}


def _call(module: types.ModuleType, request: dict[str, Any]) -> dict[str, Any]:
    try:
        function = module.__dict__[request["name"]]
        args = wire.from_plain(request["args"])
        kwargs = wire.from_plain(request["kwargs"])
        result = function(*args, **kwargs)
    except BaseException as error:
        return {"exc": describe_exception(error)}
    try:
        return {"ok": wire.to_plain(result)}
    except wire.NotPlainData as error:
        return {"not_plain": str(error)}


if __name__ == "__main__":
    main()
