"""Programs that exhaust a resource: time, processes, memory, output, disk, descriptors, stack."""

from __future__ import annotations

from . import case

CASES = [
    case(
        "infinite_loop",
        """
        def add(a, b):
            while True:
                pass
        """,
        "timeout",
        "the monitor kills the program at the wall-clock limit",
        check=True,
    ),
    case(
        "infinite_loop_at_import",
        """
        while True:
            pass

        def add(a, b):
            return a - b
        """,
        "timeout",
        "the program never finishes loading; the monitor kills it at the deadline",
    ),
    case(
        "sleep_forever",
        """
        import time

        def add(a, b):
            time.sleep(10**6)
        """,
        "timeout",
        "sleeping uses no CPU, so only the wall-clock limit can stop it",
    ),
    case(
        "fork_bomb",
        """
        import os

        while True:
            try:
                os.fork()
            except OSError:
                pass

        def add(a, b):
            return a - b
        """,
        "timeout",
        "RLIMIT_NPROC caps the processes; the survivors spin until the PID namespace is killed",
    ),
    case(
        "thread_bomb",
        """
        import threading, time

        threads = [threading.Thread(target=time.sleep, args=(60,)) for _ in range(500)]
        for thread in threads:
            thread.start()

        def add(a, b):
            return a - b
        """,
        "error",
        "RLIMIT_NPROC counts threads: `can't start new thread` surfaces as a load error",
    ),
    case(
        "memory_bomb_at_import",
        """
        hog = bytearray(10**10)

        def add(a, b):
            return a - b
        """,
        "memory",
        "RLIMIT_AS refuses the allocation: an uncaught MemoryError while loading",
    ),
    case(
        "memory_bomb_in_function",
        """
        def add(a, b):
            hog = []
            while True:
                hog.append(" " * 10**6)
        """,
        "memory",
        "the list grows to the address-space limit: an uncaught MemoryError in the call",
        check=True,
    ),
    case(
        "memory_bomb_incremental_at_import",
        """
        hog = []
        while True:
            hog.append(bytes(10**6))

        def add(a, b):
            return a - b
        """,
        "memory",
        "an uncaught MemoryError while loading",
    ),
    case(
        "huge_output_at_import",
        """
        print("x" * 10**8)

        def add(a, b):
            return a - b
        """,
        "output_limit",
        "the monitor counts the bytes and kills the program past the cap",
    ),
    case(
        "huge_output_stderr_in_function",
        """
        import sys

        def add(a, b):
            while True:
                sys.stderr.write("spam " * 1000)
        """,
        "output_limit",
        "stderr is counted with stdout",
    ),
    case(
        "output_flood_then_correct_answer",
        """
        import os

        os.write(1, b"y" * (4 << 20))

        def add(a, b):
            return a + b
        """,
        "output_limit",
        "the one correct answer of the suite: it must still not pass once the output went over"
        " the cap (the cap is counted by the monitor, the program cannot bypass it)",
    ),
    case(
        "recursion_bomb",
        """
        def add(a, b):
            return add(a, b) + 1
        """,
        "error",
        "RecursionError in the candidate, re-raised in the tests",
        check=True,
    ),
    case(
        "recursion_bomb_raised_limit",
        """
        import sys

        sys.setrecursionlimit(10**8)

        def deeper(n):
            pad = bytes(50_000)
            return deeper(n + 1) + len(pad)

        def add(a, b):
            return deeper(0)
        """,
        {"error", "memory"},
        "the recursion limit no longer stops it, the address-space limit does (each frame holds"
        " 50 kB so that takes a few thousand frames, not millions): a MemoryError (memory), or"
        " CPython 3.11's SystemError when the frame allocation is the one that fails (error)",
    ),
    case(
        "memory_exhausted_deep_in_the_stack",
        """
        import sys

        sys.setrecursionlimit(100000)

        def deeper(n, hog):
            if n:
                return deeper(n - 1, hog)
            while True:
                hog.append(bytes(1000))

        def add(a, b):
            return deeper(3000, [])
        """,
        "memory",
        "an uncaught MemoryError in the call, 3000 frames down",
    ),
    case(
        "recursion_bomb_c_stack",
        """
        import sys

        sys.setrecursionlimit(10**8)

        class Nested:
            def __repr__(self):
                return repr(Nested())

        def add(a, b):
            return repr(Nested())
        """,
        "error",
        "recursion through C code overflows the C stack: SIGSEGV, a crash with a small RSS",
    ),
    case(
        "file_size_limit",
        """
        with open("/tmp/big", "wb") as handle:
            handle.write(b"x" * (40 << 20))

        def add(a, b):
            return a - b
        """,
        "error",
        "RLIMIT_FSIZE: the write fails with EFBIG (Python ignores SIGXFSZ)",
    ),
    case(
        "tmp_fill",
        """
        for index in range(100):
            with open(f"/tmp/fill{index}", "wb") as handle:
                handle.write(b"x" * (15 << 20))

        def add(a, b):
            return a - b
        """,
        "error",
        "the private /tmp is a sized tmpfs: ENOSPC",
    ),
    case(
        "dev_shm_fill",
        """
        for index in range(100):
            with open(f"/dev/shm/fill{index}", "wb") as handle:
                handle.write(b"x" * (10 << 20))

        def add(a, b):
            return a - b
        """,
        "error",
        "the private /dev/shm is a sized tmpfs: ENOSPC",
    ),
    case(
        "too_many_open_files",
        """
        handles = [open("/dev/null") for _ in range(100000)]

        def add(a, b):
            return a - b
        """,
        "error",
        "RLIMIT_NOFILE: EMFILE",
    ),
    case(
        "threads_outlive_the_test",
        """
        import threading

        def spin():
            while True:
                pass

        for _ in range(3):
            threading.Thread(target=spin).start()

        def add(a, b):
            threading.Thread(target=spin).start()
            return a - b
        """,
        "failed",
        "the wrong answer fails; the spinning threads die with the process when the tests end",
        check=True,
    ),
    case(
        "deeply_nested_return_value",
        """
        def add(a, b):
            value = []
            for _ in range(10000):
                value = [value]
            return value
        """,
        "error",
        "the codec refuses values nested past its depth cap: not plain data",
    ),
    case(
        "huge_return_value",
        """
        def add(a, b):
            return "5" * (17 << 20)
        """,
        "error",
        "a reply over the 16 MiB frame cap cannot be sent; the candidate ends without answering",
    ),
]
