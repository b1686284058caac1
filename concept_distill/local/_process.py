"""A child process that cannot outlive us: own session, parent-death signal, ordered stop.

Generic on purpose (nothing here knows llama-server), so the lifecycle rules live in one place:
the child gets its own session, so a terminal's Ctrl-C reaches only the parent, which then
stops the child in order; it gets `PR_SET_PDEATHSIG`, so it dies even when the parent is
killed outright; and stopping signals its whole process group, children included.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import BinaryIO

import anyio
from anyio.abc import Process

# Runs in the child before it becomes the real program: ask the kernel to SIGTERM us when our
# parent dies, give up if it already has (a race the kernel cannot close), then exec. Note the
# kernel means the parent *thread*: start children from a thread that outlives them.
_PDEATHSIG_EXEC = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)\n"
    "os.getppid() == int(sys.argv[1]) or sys.exit(1)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free on `host` a moment ago (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


async def spawn_tied(command: list[str], log: BinaryIO) -> Process:
    """Start `command` in a new session, tied to our life, with stdout and stderr to `log`."""
    if sys.platform.startswith("linux"):
        command = [sys.executable, "-I", "-c", _PDEATHSIG_EXEC, str(os.getpid()), *command]
    return await anyio.open_process(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def terminate(process: Process, grace: float) -> None:
    """SIGTERM the process group of `process`, SIGKILL it after `grace` s, and reap it.

    Shielded from cancellation: a Ctrl-C or a cancelled task group still waits until the
    process is gone, so no caller leaves a server running behind it.
    """
    with anyio.CancelScope(shield=True):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if process.returncode is not None:
                break
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            with anyio.move_on_after(grace):
                await process.wait()
        await process.wait()
        await process.aclose()
