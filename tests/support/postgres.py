"""A throwaway PostgreSQL server for the tests, and a fresh database in it per test.

`make test` installs Debian's `postgresql` when it is missing; this module never skips: without
the binaries the tests fail and say how to get them. The server runs from a data directory in a
temporary folder, on a free loopback port, with `fsync` off (nothing here must outlive the
session), and is stopped at the end of the session. PostgreSQL refuses to run as root, so as
root the server runs as the `postgres` user the Debian package creates.

Connections use a password (`PASSWORD`), so tests can check it never reaches a file or a log.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "pg-secret-3f1c9a"
INSTALL_HINT = "install Debian's postgresql (make test does: apt-get install postgresql)"


@dataclass(frozen=True)
class PostgresServer:
    """Where the session's server listens."""

    port: int

    def url(self, database: str = "postgres") -> str:
        """A connection string (with the password) for `database`."""
        return f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its connection string."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return self.url(name)


def _binaries() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        on_path = shutil.which("initdb")
        if on_path is None:
            pytest.fail(f"PostgreSQL is not installed; {INSTALL_HINT}", pytrace=False)
        return Path(on_path).resolve().parent
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(f"running as root and there is no postgres user; {INSTALL_HINT}")
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session (initdb + pg_ctl), stopped at its end."""
    binaries = _binaries()
    root = Path(tempfile.mkdtemp(prefix="concept-distill-pg-"))
    data, password_file = root / "data", root / "password"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        os.chown(password_file, user.pw_uid, user.pw_gid)
    port = _free_port()

    def run(*command: str) -> None:
        program = str(binaries / command[0])
        subprocess.run(
            _as_server_user([program, *command[1:]]), check=True, capture_output=True, text=True
        )

    try:
        run(
            "initdb", "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
            f"--pwfile={password_file}", "-E", "UTF8", "--no-instructions",
        )  # fmt: skip
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    except subprocess.CalledProcessError as error:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {error.stderr or error.stdout}", pytrace=False)
    try:
        yield PostgresServer(port)
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def database_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database of the session's server, for one test."""
    return postgres_server.create_database()
