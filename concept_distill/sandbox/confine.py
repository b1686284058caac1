"""Kernel-level confinement of one candidate process, applied by the fork-server's children.

Stdlib only (ctypes): this file runs inside the sandbox under the system interpreter. Each
function either applies its layer or raises OSError; the fork-server probes them once at start-up
so the supervisor knows which layers are active.
"""

from __future__ import annotations

import ctypes
import os
import platform
import resource
import struct

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
_NAMESPACE_FLAGS = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
) | CLONE_NEWNET

_MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_RDONLY = 2, 4, 8, 1
_MS_REC, _MS_PRIVATE = 0x4000, 1 << 18
_PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_SECCOMP, _PR_SET_NO_NEW_PRIVS = 4, 24, 22, 38
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_LAST_CAP = 63

_libc = ctypes.CDLL(None, use_errno=True)
_pylibc = ctypes.PyDLL(None, use_errno=True)
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(platform.machine())
_SIGCHLD = 17


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def make_undumpable() -> None:
    """Forbid same-uid processes from ptracing or reading this process's memory."""
    _check(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def clone_into_namespaces() -> int:
    """Like os.fork(), but the child starts as PID 1 of new user, mount, PID, IPC namespaces.

    One clone per program instead of unshare plus two forks. Python's at-fork hooks do not run in
    the child; that is safe here because the server is single-threaded and the child only confines
    itself and runs the candidate. PyDLL keeps the GIL held across the call, so the child's copy of
    the interpreter state is consistent. Returns 0 in the child and the child's PID in the parent.
    """
    if _SYS_CLONE is None:
        raise OSError(95, f"clone: unsupported machine {platform.machine()}")
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | _SIGCHLD
    pid = int(_pylibc.syscall(_SYS_CLONE, flags, 0, 0, 0, 0))
    if pid < 0:
        _check(-1, "clone")
    return pid


def map_ids(uid: int, gid: int) -> None:
    """In a fresh user namespace, map the ids to themselves (the process stays unprivileged)."""
    # /proc/self files of an undumpable process belong to root: the maps could not be written.
    _check(_libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    make_undumpable()


def join_cgroup(files: list[str] | tuple[str, ...]) -> None:
    """Join the slot's cgroups (bound into the sandbox): all it starts later is inside too."""
    for path in files:
        _write(path, "0")


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def private_mounts(tmp_bytes: int, shm_bytes: int) -> None:
    """Give the process a fresh sized /tmp and /dev/shm, and hide /proc behind an empty mount."""
    _check(_libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "mount(private /)")
    flags = _MS_NOSUID | _MS_NODEV
    for target, size in ((b"/tmp", tmp_bytes), (b"/dev/shm", shm_bytes)):
        options = f"size={max(size, 4096)},mode=1777".encode()
        _check(_libc.mount(b"tmpfs", target, b"tmpfs", flags, options), f"mount {target!r}")
    hidden = flags | _MS_NOEXEC | _MS_RDONLY
    _check(_libc.mount(b"tmpfs", b"/proc", b"tmpfs", hidden, b"size=4096,mode=555"), "mount /proc")


def drop_capabilities() -> None:
    """Drop every capability (the new user namespace granted them all) and forbid regaining any."""
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    for cap in range(_LAST_CAP + 1):
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != 22:
            _check(-1, "prctl(PR_CAPBSET_DROP)")
    header = struct.pack("Ii", _LINUX_CAPABILITY_VERSION_3, 0)
    data = bytes(24)
    _check(_libc.capset(ctypes.c_char_p(header), ctypes.c_char_p(data)), "capset")


def apply_rlimits(
    *, memory_bytes: int, cpu_s: int, file_bytes: int, open_files: int, processes: int
) -> None:
    """Bound address space, CPU time, file size, descriptors and processes; no core dumps."""
    limits = (
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_CPU, cpu_s),
        (resource.RLIMIT_FSIZE, file_bytes),
        (resource.RLIMIT_NOFILE, open_files),
        (resource.RLIMIT_NPROC, processes),
        (resource.RLIMIT_CORE, 0),
    )
    for which, value in limits:
        resource.setrlimit(which, (value, value))


# Seccomp: system calls no test program needs, whose only use here would be an escape attempt.
# The kernel kills the process (SIGSYS), which the supervisor reports as `blocked`.
_X86_64_KILLED = {
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "unshare": 272,
    "setns": 308,
    "bpf": 321,
    "keyctl": 250,
    "add_key": 248,
    "request_key": 249,
    "perf_event_open": 298,
    "kexec_load": 246,
    "kexec_file_load": 320,
    "init_module": 175,
    "finit_module": 313,
    "delete_module": 176,
    "reboot": 169,
    "swapon": 167,
    "swapoff": 168,
    "acct": 163,
    "userfaultfd": 323,
    "open_by_handle_at": 304,
    "name_to_handle_at": 303,
    "io_uring_setup": 425,
    # SysV shared memory: its segments outlive the program (an IPC namespace is freed later, by
    # the kernel's workqueue), so their memory would be charged to the next program of the slot.
    "shmget": 29,
    "fsopen": 430,
    "fsmount": 432,
    "move_mount": 429,
    "open_tree": 428,
}
_X86_64_CLONE, _X86_64_CLONE3 = 56, 435
_AUDIT_ARCH_X86_64 = 0xC000003E
_RET_KILL_PROCESS, _RET_ALLOW, _RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
_ENOSYS = 38
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06


def seccomp_supported() -> bool:
    """The filter is written for x86-64 system call numbers."""
    return platform.machine() == "x86_64"


def install_seccomp() -> None:
    """Install the filter: kill on escape-only calls and namespace-creating clones."""
    if not seccomp_supported():
        raise OSError(95, "seccomp filter: only x86_64 is supported")
    _check(_libc.prctl(_PR_SET_SECCOMP, 2, ctypes.byref(_FPROG), 0, 0), "prctl(PR_SET_SECCOMP)")


def _seccomp_program() -> list[tuple[int, int, int, int]]:
    kill = (_RET, 0, 0, _RET_KILL_PROCESS)
    program: list[tuple[int, int, int, int]] = [
        (_LD_ABS, 0, 0, 4),  # arch
        (_JEQ, 1, 0, _AUDIT_ARCH_X86_64),
        kill,
        (_LD_ABS, 0, 0, 0),  # syscall number
        (_JGE, 0, 1, 0x40000000),  # x32 ABI
        kill,
        (_JEQ, 0, 1, _X86_64_CLONE3),  # flags live in memory: make libc fall back to clone
        (_RET, 0, 0, _RET_ERRNO | _ENOSYS),
        (_JEQ, 0, 3, _X86_64_CLONE),
        (_LD_ABS, 0, 0, 16),  # clone flags (low 32 bits of args[0])
        (_JSET, 0, 1, _NAMESPACE_FLAGS),
        kill,
    ]
    program.append((_LD_ABS, 0, 0, 0))
    for number in sorted(_X86_64_KILLED.values()):
        program.extend([(_JEQ, 0, 1, number), kill])
    program.append((_RET, 0, 0, _RET_ALLOW))
    return program


class _Fprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


# Built once in the warm server, so each forked child only makes the prctl call.
_PROGRAM = _seccomp_program()
_FILTER = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in _PROGRAM))
_FPROG = _Fprog(len(_PROGRAM), ctypes.cast(_FILTER, ctypes.c_void_p))
