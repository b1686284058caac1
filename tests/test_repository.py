"""The repository stands alone: it reads nothing beside it, and its wheel carries the data."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("concept_distill", "tests", "bench", "configs", "examples", "Makefile")
# Spelled in two pieces so this file does not match itself.
QUOTED = '"shared"' + ' / "data"'
FORBIDDEN = ("../" + "shared", "shared" + "/data", QUOTED, QUOTED.replace('"', "'"))
SHIPPED = ("gsm8k-test.jsonl", "svamp.json", "multiarith.json")


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        root = REPO / name
        candidates = [root] if root.is_file() else root.rglob("*")
        files += [
            path
            for path in candidates
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        ]
    return files


def test_nothing_reads_a_directory_beside_the_repository() -> None:
    files = scanned_files()
    assert len(files) > 50, "the scan found too few files to be meaningful"
    offenders = [
        f"{path.relative_to(REPO)}: {needle}"
        for path in files
        for needle in FORBIDDEN
        if needle in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []


def test_every_shipped_data_set_has_its_licence_beside_it() -> None:
    data = REPO / "concept_distill" / "data"
    for name in SHIPPED:
        assert (data / name).stat().st_size > 100_000, name
        licence = data / f"{name.split('-')[0].split('.')[0]}-LICENSE"
        assert "Permission is hereby granted" in licence.read_text(), licence


def test_the_wheel_carries_the_data_and_the_licences(tmp_path: Path) -> None:
    hatchling = Path(sys.executable).parent / "hatchling"
    done = subprocess.run(
        [str(hatchling), "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (*SHIPPED, "gsm8k-LICENSE", "svamp-LICENSE", "multiarith-LICENSE"):
        assert f"concept_distill/data/{name}" in names, name
    assert "concept_distill/cli/__main__.py" in names
