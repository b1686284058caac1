"""report.html renders in a real headless Chromium, with the key figures on the page."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import anyio
import pytest
from support.fakes import HELPFUL, make_config, rule_following_student, scripted_teacher, verifier

from concept_distill.distillation import DistillResult, distill

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: `make test` installs it (Debian package chromium)")
    return path


def test_report_renders_with_the_figures(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    student, _ = rule_following_student(config)
    teacher, _ = scripted_teacher()
    run_dir = tmp_path / "run"

    async def run() -> DistillResult:
        return await distill(
            config, run_dir=run_dir, student=student, teacher=teacher, verifier=verifier()
        )

    result = anyio.run(run)
    report = run_dir / "report.html"
    base = f"{100 * result.metrics.test_accuracy_base:.1f}%"
    command = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*command, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    text = re.sub(r"\s+", " ", dom.stdout)
    assert "Before / after on the held-out test split" in text
    assert base in text and "100.0%" in text
    assert HELPFUL.replace("'", "&#x27;") in text or HELPFUL in text
    assert "accepted" in text and "rejected" in text
    image = re.search(r'src="data:image/png;base64,([^"]+)"', dom.stdout)
    assert image is not None, "the accuracy plot is missing"
    assert base64.b64decode(image.group(1)).startswith(b"\x89PNG\r\n\x1a\n")
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [*command, f"--screenshot={shot}", "--window-size=1200,2000", report.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0 and shot.stat().st_size > 10_000
