"""One sandbox slot: a candidate fork-server and a test fork-server, used one job at a time.

The servers are spawned from the event-loop thread: bubblewrap's --die-with-parent uses
PR_SET_PDEATHSIG, which fires when the *thread* that spawned it exits, and worker threads come
and go. The blocking job exchange runs in a worker thread.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from concept_distill.sandbox import wire
from concept_distill.sandbox.cgroup import SlotCgroup
from concept_distill.sandbox.isolation import CGROUP_FILES, LaunchPlan, server_command, with_binds

_HANDSHAKE_TIMEOUT_S = 30.0

_GRACE_S = 10.0


class SlotBroken(Exception):
    """A server died or stopped answering; the slot must be restarted."""


class _Server:
    """One fork-server process and its control socket."""

    def __init__(
        self,
        plan: LaunchPlan,
        stage: Path,
        script: str,
        uid: int,
        tmp_bytes: int,
        cgroup: SlotCgroup | None = None,
    ):
        ours, theirs = socket.socketpair()
        self.control = ours
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
        command = server_command(plan, stage, script, theirs.fileno(), uid, tmp_bytes)
        if cgroup is not None:
            command = with_binds(command, cgroup.join_files(), CGROUP_FILES)
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self.errors,
            pass_fds=(theirs.fileno(),),
            env={},
            start_new_session=True,
        )
        theirs.close()

    def handshake(self) -> dict[str, Any]:
        """Wait for the server's ready message (blocking)."""
        self.control.settimeout(_HANDSHAKE_TIMEOUT_S)
        try:
            ready = wire.recv_frame(self.control)
        except (wire.WireError, TimeoutError) as error:
            raise SlotBroken(f"{error}; {self.stderr_tail()}") from error
        if not isinstance(ready, dict) or not ready.get("ready"):
            raise SlotBroken(f"the sandbox server did not start: {self.stderr_tail()}")
        return ready

    def stderr_tail(self) -> str:
        """The end of what the server printed, for error messages."""
        self.errors.seek(0)
        text = self.errors.read().decode("utf-8", "replace").strip()
        return text[-500:] or "(no output)"

    def stop(self) -> None:
        """Close the channel (the server exits on EOF) and make sure the process is gone."""
        self.control.close()
        self.process.kill()
        self.process.wait()
        self.errors.close()


class Slot:
    """A pair of servers with their own uids; runs one job at a time."""

    def __init__(
        self, index: int, plan: LaunchPlan, stage: Path, uid_base: int, tmp_bytes: int,
        processes: int,
    ):  # fmt: skip
        self.index = index
        self.cgroup: SlotCgroup | None = None
        try:  # a few small sysfs writes
            runs_as = uid_base + index if plan.as_root and plan.setpriv else os.getuid()
            self.cgroup = SlotCgroup.create(
                f"concept-distill-{os.getpid()}-{index}", runs_as, processes
            )
            self.cgroup_state = "ok"
        except OSError as error:
            self.cgroup_state = f"cannot create a cgroup here: {error}"
        self.candidate = _Server(
            plan, stage, "candidate_server.py", uid_base + index, tmp_bytes, self.cgroup
        )
        self.tests = _Server(plan, stage, "test_server.py", uid_base + 500 + index, tmp_bytes)
        self.cgroup_files: tuple[str, ...] = ()
        if self.cgroup is not None:
            real = tuple(str(path) for path in self.cgroup.join_files())
            self.cgroup_files = CGROUP_FILES if plan.bwrap else real
        self.layers: dict[str, str] = {}

    def handshake(self) -> None:
        """Wait until both servers are ready; remember which layers the candidate side has."""
        ready = self.candidate.handshake()
        self.tests.handshake()
        layers = ready.get("layers")
        self.layers = (
            {str(k): str(v) for k, v in layers.items()} if isinstance(layers, dict) else {}
        )

    def run(
        self,
        program: str,
        tests: str,
        entry_point: str | None,
        trusted: str,
        limits: dict[str, Any],
    ) -> tuple[dict[str, Any], dict[str, Any], float]:
        """Run one job (blocking); returns both reports and the wall time."""
        started = time.monotonic()
        oom_before = 0
        if self.cgroup is not None:
            self.cgroup.limit_memory(int(limits["memory_bytes"]))
            oom_before = self.cgroup.oom_kills()
        mine, theirs = socket.socketpair()
        try:
            wire.send_with_fd(
                self.candidate.control,
                {"program": program, "limits": limits, "cgroup_files": self.cgroup_files},
                mine.fileno(),
            )
            wire.send_with_fd(
                self.tests.control,
                {"tests": tests, "entry_point": entry_point, "trusted": trusted, "limits": limits},
                theirs.fileno(),
            )
        except OSError as error:
            raise SlotBroken(f"sandbox server gone: {error}") from error
        finally:
            mine.close()
            theirs.close()
        wait = float(limits["timeout_s"]) + _GRACE_S
        test_report = self._receive(self.tests, wait)
        candidate_report = self._receive(self.candidate, wait)
        if self.cgroup is not None and self.cgroup.oom_kills() > oom_before:
            candidate_report["oom_killed"] = True
        return candidate_report, test_report, time.monotonic() - started

    @staticmethod
    def _receive(server: _Server, wait: float) -> dict[str, Any]:
        server.control.settimeout(wait)
        try:
            report = wire.recv_frame(server.control)
        except (wire.WireError, TimeoutError, OSError) as error:
            raise SlotBroken(f"sandbox server stopped answering: {error}") from error
        if not isinstance(report, dict):
            raise SlotBroken(f"sandbox server ended: {server.stderr_tail()}")
        return report

    def stop(self) -> None:
        """Stop both servers and remove the slot's cgroup."""
        self.candidate.stop()
        self.tests.stop()
        if self.cgroup is not None:
            self.cgroup.remove()
