"""Programs that try to leave the sandbox: files, secrets, network, processes, the kernel."""

from __future__ import annotations

from . import case

LIBC = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"

CASES = [
    # Files outside the work directory. Each program creates or removes one exact host path; the
    # suite checks afterwards that none of those paths changed.
    case(
        "read_etc_shadow",
        """
        secret = open("/etc/shadow").read()

        def add(a, b):
            return secret
        """,
        "error",
        "/etc is not in the sandbox: FileNotFoundError while loading",
    ),
    case(
        "write_etc",
        """
        open("/etc/@MARK@", "w").write("owned")

        def add(a, b):
            return a - b
        """,
        "error",
        "/etc does not exist in the sandbox: FileNotFoundError",
    ),
    case(
        "write_usr",
        """
        open("/usr/@MARK@", "w").write("owned")

        def add(a, b):
            return a - b
        """,
        "error",
        "/usr is bound read-only: EROFS",
    ),
    case(
        "delete_from_usr",
        """
        import os

        os.remove("@VICTIM_USR@")

        def add(a, b):
            return a - b
        """,
        "error",
        "/usr is bound read-only and the file belongs to root: EROFS or EACCES",
    ),
    case(
        "delete_repository_file",
        """
        import os

        os.remove("@VICTIM_REPO@")

        def add(a, b):
            return a - b
        """,
        "error",
        "the repository is not in the sandbox: FileNotFoundError",
    ),
    case(
        "write_repository",
        """
        open("@REPO@/@MARK@", "w").write("owned")

        def add(a, b):
            return a - b
        """,
        "error",
        "the repository is not in the sandbox: FileNotFoundError",
    ),
    case(
        "write_tests_dir",
        """
        open("@REPO@/tests/sandbox/@MARK@", "w").write("def test_owned(): pass")

        def add(a, b):
            return a - b
        """,
        "error",
        "the repository is not in the sandbox: FileNotFoundError",
    ),
    case(
        "append_to_repository_file",
        """
        with open("@REPO@/tests/sandbox/hostile/__init__.py", "a") as handle:
            handle.write("\\nCASES_OVERRIDE = []\\n")

        def add(a, b):
            return a - b
        """,
        "error",
        "the repository is not in the sandbox: FileNotFoundError (the suite checks the file's"
        " size and mtime)",
    ),
    case(
        "write_home",
        """
        open("@HOME@/@MARK@", "w").write("owned")

        def add(a, b):
            return a - b
        """,
        "error",
        "$HOME is not in the sandbox: FileNotFoundError",
    ),
    case(
        "write_host_tmp",
        """
        open("/tmp/@MARK@", "w").write("owned")

        def add(a, b):
            return 0
        """,
        "failed",
        "/tmp is the program's own private tmpfs: the write works there and vanishes; the wrong"
        " answer fails",
    ),
    case(
        "overwrite_canary",
        """
        open("@CANARY@", "w").write("owned")

        def add(a, b):
            return a - b
        """,
        "error",
        "the host's world-writable canary is not visible: FileNotFoundError",
    ),
    case(
        "delete_canary",
        """
        import os

        os.remove("@CANARY@")

        def add(a, b):
            return a - b
        """,
        "error",
        "the host's world-writable canary is not visible: FileNotFoundError",
    ),
    case(
        "modify_staged_server",
        """
        source = open("/sandbox/test_server.py").read()
        open("/sandbox/test_server.py", "w").write(source.replace('"failed"', '"passed"'))

        def add(a, b):
            return 0
        """,
        "error",
        "the staged server files are readable but bound read-only and owned by root: EACCES/EROFS",
    ),
    # Secrets: the parent's environment, other processes, anything readable.
    case(
        "leak_environment",
        """
        import os

        found = [repr(dict(os.environ))]
        for path in ("/proc/1/environ", "/proc/self/environ", "/proc/self/../1/environ"):
            try:
                found.append(open(path, "rb").read().decode("latin-1"))
            except OSError as error:
                found.append(f"{path}: {error.strerror}")

        def add(a, b):
            raise ValueError(" | ".join(found))
        """,
        "error",
        "the program raises with what it found (only LANG and PWD): an error whose message the"
        " suite searches for the parent's secret",
        check=True,
    ),
    case(
        "print_environment_and_crash",
        """
        import ctypes, os

        print("ENV", dict(os.environ), flush=True)
        for path in ("/proc/1/environ", "/proc/self/environ"):
            try:
                print(path, open(path, "rb").read(), flush=True)
            except OSError as error:
                print(path, error, flush=True)
        ctypes.string_at(0)
        """,
        "error",
        "a crash: the verdict shows the end of the output, which the suite searches for the"
        " parent's secret",
    ),
    case(
        "leak_secret_by_return",
        """
        import os

        def add(a, b):
            return os.environ.get("OPENAI_API_KEY", "no key")
        """,
        "failed",
        "the environment is empty: the string is a wrong answer",
    ),
    case(
        "scan_filesystem_for_secrets",
        """
        import os, stat

        found = []
        for top in ("/", "/tmp", "/dev", "/sandbox", "/proc", "/run", "/var", "/etc", "/root"):
            for root, dirs, files in os.walk(top):
                if root.startswith("/usr"):
                    dirs[:] = []
                    continue
                for name in files:
                    path = os.path.join(root, name)
                    try:
                        info = os.stat(path)
                        if stat.S_ISREG(info.st_mode) and info.st_size < 1 << 20:
                            text = open(path, "rb").read()
                            if b"OPENAI" in text or b"sk-" in text:
                                found.append(path + ": " + text.decode("latin-1")[:300])
                    except OSError:
                        pass

        def add(a, b):
            raise LookupError("secrets found: " + repr(found))
        """,
        "error",
        "the program raises with whatever it found; the suite checks the secret is not there",
    ),
    case(
        "read_proc_self_mem",
        """
        memory = open("/proc/self/mem", "rb")

        def add(a, b):
            return a - b
        """,
        "error",
        "/proc is hidden behind an empty mount: FileNotFoundError",
    ),
    case(
        "scan_proc_for_test_source",
        """
        import os

        found = 0
        for pid in os.listdir("/proc"):
            try:
                found += len(open(f"/proc/{pid}/cmdline", "rb").read())
            except OSError:
                pass

        def add(a, b):
            return found
        """,
        "failed",
        "/proc is empty: no other process to read, and 0 is a wrong answer",
    ),
    # Network.
    case(
        "tcp_to_localhost",
        """
        import socket

        socket.create_connection(("127.0.0.1", 22), timeout=2)

        def add(a, b):
            return a - b
        """,
        "error",
        "an empty network namespace: ECONNREFUSED",
    ),
    case(
        "tcp_to_external_ip",
        """
        import socket

        socket.create_connection(("1.1.1.1", 443), timeout=2)

        def add(a, b):
            return a - b
        """,
        "error",
        "no route in the empty network namespace: ENETUNREACH",
    ),
    case(
        "dns_lookup",
        """
        import socket

        socket.getaddrinfo("example.com", 80)

        def add(a, b):
            return a - b
        """,
        "error",
        "no resolver and no network: gaierror",
    ),
    case(
        "udp_to_external_ip",
        """
        import socket

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(b"2+3=?", ("8.8.8.8", 53))

        def add(a, b):
            return a - b
        """,
        "error",
        "ENETUNREACH",
    ),
    # Processes and signals.
    case(
        "kill_parent",
        """
        import os, signal

        os.kill(os.getppid(), signal.SIGKILL)

        def add(a, b):
            return 0
        """,
        "failed",
        "PID 1 of its own namespace has no visible parent (getppid() is 0, i.e. its own group)"
        " and init ignores SIGKILL sent from inside: the program lives on and answers wrong",
    ),
    case(
        "kill_everything",
        """
        import os, signal

        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass

        def add(a, b):
            return 0
        """,
        {"failed", "error"},
        "kill(-1) reaches only this program's namespace, which holds nothing else: it survives"
        " and answers wrong (failed); a sandbox where the candidate is not its namespace's init"
        " would see it kill itself (error). Its neighbours in the batch must still pass",
    ),
    case(
        "child_kills_everything",
        """
        import os, signal

        pid = os.fork()
        if pid == 0:
            try:
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

        def add(a, b):
            return 0
        """,
        "failed",
        "kill(-1) from a child spares the namespace's init: the program answers wrong",
    ),
    case(
        "setsid_double_fork_daemon",
        """
        import os, time

        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                while True:
                    time.sleep(0.05)
                    try:
                        open("@CANARY@", "a").write("daemon was here")
                    except OSError:
                        pass
            os._exit(0)

        def add(a, b):
            return 0
        """,
        "failed",
        "the daemon escapes the process group but not the PID namespace: it dies with the"
        " program (the suite checks no process is left); the wrong answer fails",
    ),
    case(
        "fork_and_let_the_child_answer",
        """
        import os

        pid = os.fork()
        if pid:
            os.waitpid(pid, 0)
            os._exit(0)

        def add(a, b):
            return a * b
        """,
        "failed",
        "the child serves the calls (plain data all the same) and answers wrong",
        check=True,
    ),
    case(
        "sigstop_self",
        """
        import os, signal

        os.kill(os.getpid(), signal.SIGSTOP)

        def add(a, b):
            return 0
        """,
        {"failed", "timeout"},
        "init of a PID namespace ignores SIGSTOP from inside, so it runs on and answers wrong"
        " (failed); had it stopped, the monitor would kill it at the deadline (timeout)",
    ),
    case(
        "sigkill_self",
        """
        import os, signal

        os.kill(os.getpid(), signal.SIGKILL)

        def add(a, b):
            return 0
        """,
        {"failed", "error"},
        "init ignores its own SIGKILL (failed: the wrong answer); a killed candidate would be a"
        " crash (error)",
    ),
    case(
        "alarm_exits_mid_test",
        """
        import os, signal, time

        signal.signal(signal.SIGALRM, lambda *_: os._exit(0))
        signal.alarm(1)

        def add(a, b):
            time.sleep(60)
        """,
        "error",
        "the alarm handler exits 0 in the middle of a call: the channel closes before an answer",
    ),
    case(
        "subprocess_shell",
        """
        import subprocess

        result = subprocess.run(
            ["/bin/sh", "-c", "id; env; cat /etc/shadow; ls /proc"], capture_output=True, text=True
        )

        def add(a, b):
            return result.stdout + result.stderr
        """,
        {"failed", "error"},
        "/usr/bin/sh is visible through the /usr bind (the shell runs in the same namespaces and"
        " finds nothing: a wrong answer, failed); without a shell, FileNotFoundError (error)",
    ),
    case(
        "setuid_root",
        """
        import os

        os.setuid(0)

        def add(a, b):
            return a - b
        """,
        "error",
        "uid 0 is not mapped in the user namespace: EINVAL/EPERM",
    ),
    case(
        "chroot",
        """
        import os

        os.chroot("/tmp")

        def add(a, b):
            return a - b
        """,
        "error",
        "no capabilities: EPERM",
    ),
    case(
        "open_dev_tty",
        """
        tty = open("/dev/tty", "w")

        def add(a, b):
            return a - b
        """,
        "error",
        "a new session has no controlling terminal: ENXIO",
    ),
    case(
        "import_missing_module",
        """
        import numpy

        def add(a, b):
            return numpy.add(a, b)
        """,
        "error",
        "only the system interpreter's stdlib is visible: ModuleNotFoundError",
    ),
    case(
        "import_the_project",
        """
        import concept_distill.sandbox.verdict as verdict

        def add(a, b):
            return a - b
        """,
        "error",
        "the project is not in the sandbox: ModuleNotFoundError",
    ),
    # The kernel: system calls the seccomp filter kills (SIGSYS, reported as blocked).
    case(
        "ptrace",
        LIBC + "libc.ptrace(0, 0, 0, 0)\ndef add(a, b):\n    return a - b\n",
        "blocked",
        "PTRACE_TRACEME: seccomp kills the process",
    ),
    case(
        "unshare_user_namespace",
        LIBC + "libc.unshare(0x10000000)\ndef add(a, b):\n    return a - b\n",
        "blocked",
        "unshare(CLONE_NEWUSER) would regain capabilities: seccomp kills it",
    ),
    case(
        "mount_tmpfs",
        LIBC + "libc.mount(b'none', b'/usr', b'tmpfs', 0, None)\ndef add(a, b):\n    return 0\n",
        "blocked",
        "mount: seccomp kills it",
    ),
    case(
        "clone_new_namespace",
        LIBC + "libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)\ndef add(a, b):\n    return 0\n",
        "blocked",
        "clone with a namespace flag: seccomp kills it",
    ),
    case(
        "setns",
        LIBC + "libc.syscall(308, 0, 0)\ndef add(a, b):\n    return 0\n",
        "blocked",
        "setns: seccomp kills it",
    ),
    case(
        "bpf",
        LIBC + "libc.syscall(321, 0, 0, 0)\ndef add(a, b):\n    return 0\n",
        "blocked",
        "bpf: seccomp kills it",
    ),
    case(
        "x32_abi_syscall",
        LIBC + "libc.syscall(0x40000000 | 39)\ndef add(a, b):\n    return 0\n",
        "blocked",
        "x32 system call numbers bypass naive filters: this one kills them all",
    ),
    case(
        "process_vm_readv",
        LIBC + "libc.syscall(310, 1, 0, 0, 0, 0, 0)\ndef add(a, b):\n    return 0\n",
        "blocked",
        "reading another process's memory: seccomp kills it",
    ),
    case(
        "io_uring",
        LIBC + "libc.syscall(425, 1, 0)\ndef add(a, b):\n    return 0\n",
        "blocked",
        "io_uring bypasses seccomp for its operations: its setup is killed",
    ),
    case(
        "ctypes_segfault",
        LIBC + "def add(a, b):\n    return ctypes.string_at(0)\n",
        "error",
        "SIGSEGV in the call: a crash (the signal is in the detail), RSS far below the limit",
    ),
    case(
        "ctypes_segfault_at_import",
        LIBC + "ctypes.memset(0, 1, 8)\ndef add(a, b):\n    return a - b\n",
        "error",
        "SIGSEGV while loading: a crash",
    ),
    case(
        "abort",
        "import os\n\ndef add(a, b):\n    os.abort()\n",
        "error",
        "abort(): init ignores SIGABRT, so glibc ends with a forced fault; a crash either way",
    ),
]
