"""What isolation this machine allows, and the command lines that start the sandbox servers.

Probed at start-up: bubblewrap for the server (no network, only /usr visible, empty environment),
a dedicated unprivileged uid (rlimits on processes do not bind root), and, reported by the
candidate server itself, the per-program namespaces, mounts, capabilities and seccomp filter.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from concept_distill.sandbox.limits import SandboxLimits

SERVER_FILES = ("wire.py", "confine.py", "candidate_server.py", "test_server.py")
INSIDE = "/sandbox"
CGROUP_FILES = ("/cgroup/memory.procs", "/cgroup/pids.procs")


class Layer(BaseModel):
    """One isolation layer: whether it is active here, and why not when it is not."""

    model_config = ConfigDict(frozen=True)

    name: str
    active: bool
    detail: str
    required: bool = True


class IsolationReport(BaseModel):
    """Every layer the sandbox uses, active or missing."""

    model_config = ConfigDict(frozen=True)

    layers: list[Layer]

    @property
    def missing(self) -> list[str]:
        """Required layers that are not active."""
        return [layer.name for layer in self.layers if layer.required and not layer.active]

    @property
    def strong(self) -> bool:
        """Every required layer is active."""
        return not self.missing

    def summary(self) -> str:
        """One line for logs and verdict batches."""
        if self.strong:
            return "isolation: all required layers active"
        return "isolation: WEAK, missing " + ", ".join(self.missing)


class LaunchPlan(BaseModel):
    """How to start the sandbox servers on this machine."""

    model_config = ConfigDict(frozen=True)

    python: str
    bwrap: str | None
    bwrap_problem: str
    setpriv: str | None
    as_root: bool
    nice: list[str] = []
    """`nice -n N` when the limits ask for a niceness (every process of the sandbox inherits it)."""

    def uid_layer(self) -> Layer:
        """A dedicated uid as root, or the caller's own non-root uid."""
        if not self.as_root:
            return Layer(name="unprivileged uid", active=True, detail=f"your uid {os.getuid()}")
        if self.setpriv:
            return Layer(name="unprivileged uid", active=True, detail="dedicated uids via setpriv")
        return Layer(name="unprivileged uid", active=False, detail="running as root and no setpriv")

    def bwrap_layer(self) -> Layer:
        """Bubblewrap around each server."""
        if self.bwrap:
            detail = "no network, only /usr visible, empty environment, dies with its parent"
            return Layer(name="bubblewrap", active=True, detail=detail)
        return Layer(name="bubblewrap", active=False, detail=self.bwrap_problem)


def plan_launch(limits: SandboxLimits) -> LaunchPlan:
    """Find the interpreter, bubblewrap and setpriv."""
    python = limits.python or ("/usr/bin/python3" if os.path.exists("/usr/bin/python3") else "")
    python = python or sys.executable
    bwrap = shutil.which("bwrap")
    nice = shutil.which("nice")
    return LaunchPlan(
        python=os.path.realpath(python),
        bwrap=bwrap,
        bwrap_problem="" if bwrap else "bwrap not found (install the bubblewrap package)",
        setpriv=shutil.which("setpriv"),
        as_root=os.geteuid() == 0,
        nice=[nice, "-n", str(limits.niceness)] if nice and limits.niceness else [],
    )


def without_bwrap(plan: LaunchPlan, problem: str) -> LaunchPlan:
    """The same plan after bubblewrap failed to start here."""
    return plan.model_copy(update={"bwrap": None, "bwrap_problem": problem})


def server_command(
    plan: LaunchPlan, stage: Path, script: str, fd: int, uid: int, tmp_bytes: int
) -> list[str]:
    """The command that starts one fork-server, as strongly isolated as the plan allows."""
    command: list[str] = list(plan.nice)
    if plan.as_root and plan.setpriv:
        command += [
            plan.setpriv,
            f"--reuid={uid}",
            f"--regid={uid}",
            "--clear-groups",
            "--inh-caps=-all",
            "--",
        ]
    interpreter_dirs = _interpreter_binds(plan.python)
    if plan.bwrap:
        command += [
            plan.bwrap,
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--setenv",
            "LANG",
            "C.UTF-8",
            "--ro-bind",
            "/usr",
            "/usr",
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
            "--symlink",
            "usr/bin",
            "/bin",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--size",
            str(tmp_bytes),
            "--tmpfs",
            "/tmp",
        ]
        for directory in interpreter_dirs:
            command += ["--ro-bind", directory, directory]
        command += ["--ro-bind", str(stage), INSIDE, "--chdir", "/tmp"]
        command += ["--remount-ro", "/dev", "--remount-ro", "/"]
        script_path = f"{INSIDE}/{script}"
    else:
        script_path = str(stage / script)
    return [*command, plan.python, "-I", "-S", "-B", script_path, "--fd", str(fd)]


def with_binds(
    command: list[str], sources: tuple[Path, ...], targets: tuple[str, ...]
) -> list[str]:
    """The command with writable files bound inside bubblewrap (before its own arguments end).

    Without bubblewrap the files are used at their real paths, so nothing is bound.
    """
    if "--chdir" not in command:
        return command
    at = command.index("--chdir")
    binds = [arg for source, target in zip(sources, targets, strict=True)
             for arg in ("--bind", str(source), target)]  # fmt: skip
    return [*command[:at], *binds, *command[at:]]


def _interpreter_binds(python: str) -> list[str]:
    """An interpreter outside /usr needs its installation bound read-only too."""
    if python.startswith("/usr/"):
        return []
    return [str(Path(python).parent.parent)]


def stage_server_files(directory: Path) -> Path:
    """Copy the stdlib-only server files where the sandbox uid can read them."""
    source = Path(__file__).parent
    directory.chmod(0o755)
    for name in SERVER_FILES:
        target = directory / name
        shutil.copyfile(source / name, target)
        target.chmod(0o644)
    return directory
