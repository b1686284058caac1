"""Checkpoints hold plain data only: with LANGGRAPH_STRICT_MSGPACK=true a run interrupted in the
middle resumes to the end, its records come back as records, and nothing warns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
SCRIPT = r"""
import json, logging, sys
import anyio
sys.path.insert(0, sys.argv[2])
from support.fakes import HELPFUL, make_config
from support.roles import proposing_teacher, student_model
from concept_distill import Rule, distill
from concept_distill.events import PhaseEvent

logging.basicConfig(level=logging.WARNING)

class Stop(Exception):
    pass

def stop_at_validation(event):
    if isinstance(event, PhaseEvent) and event.phase == "validate":
        raise Stop()

async def main(tmp):
    from pathlib import Path
    config = make_config(Path(tmp))
    run_dir = Path(tmp) / "run"
    try:
        await distill(config, run_dir=run_dir, student=student_model(),
                      teacher=proposing_teacher(), on_event=stop_at_validation)
    except Stop:
        pass
    assert not (run_dir / "metrics.json").exists()
    result = await distill(config, run_dir=run_dir, resume=True, student=student_model(),
                           teacher=proposing_teacher())
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    async with AsyncSqliteSaver.from_conn_string(str(run_dir / "checkpoints.sqlite")) as saver:
        saved = await saver.aget({"configurable": {"thread_id": "distill"}})
    rules = saved["channel_values"]["rules"]
    print(json.dumps({
        "accepted": [r.text for r in result.accepted_rules],
        "records": all(isinstance(r, Rule) for r in result.rules),
        "saved_types": sorted({type(r).__name__ for r in rules}),
        "helpful": HELPFUL,
    }))

anyio.run(main, sys.argv[1])
"""


def test_resume_under_strict_msgpack_round_trips_plain_data(tmp_path: Path) -> None:
    env = {**os.environ, "LANGGRAPH_STRICT_MSGPACK": "true"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), str(TESTS)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["accepted"] == [outcome["helpful"]]
    assert outcome["records"] is True
    assert outcome["saved_types"] == ["dict"]
    assert "unregistered type" not in done.stderr
    assert "Deserializ" not in done.stderr
