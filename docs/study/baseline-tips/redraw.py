"""Re-draw the teacher's tip sets and write the chosen set's prompt file, with no validation pass.

Why this exists: the tips baseline's run directory (`concept-distill tips ... --run-dir
$D/baseline-tips`, 1,200 validation replies over five sittings, 2026-11-28) was lost with the
machine's cache before its files were published. Its scores were recorded as measured (set 7
chosen, 48/150). The tip sets themselves are drawn by the teacher from fixed seeds with no
mistakes shown, so they can be drawn again without re-paying the validation pass: this script
asks the teacher exactly as `concept_distill.baselines.tips_baseline` does (same messages, same
seeds, same model file) and writes `tips-redrawn.json` (every set) and `optimized_prompt.json`
(the chosen set appended to the base prompt, by the same code) into RUN_DIR. Compare the chosen
set with the recorded text before trusting the prompt file.

    python docs/study/baseline-tips/redraw.py configs/study/gsm8k-qwen0.5b.yaml RUN_DIR 7 \
        [--set key=value ...]
"""

import sys
from pathlib import Path

import anyio

from concept_distill.agents.student_prompt import StudentPrompt
from concept_distill.agents.teacher import ChatTeacher
from concept_distill.baselines import tips_prompt_document, unscored_tip_sets
from concept_distill.cli.common import load_cli_config
from concept_distill.graph.resources import RunResources
from concept_distill.report.prompt import PROMPT_JSON

SAMPLES = 8


async def main(config_path: str, run_dir: str, chosen: int, overrides: list[str]) -> None:
    """Draw the sets as the baseline does, then write the chosen one's prompt file."""
    config = load_cli_config(Path(config_path), [o.removeprefix("--set=") for o in overrides])
    async with RunResources(config, run_dir=Path(run_dir), label="tips") as resources:
        teacher = resources.teacher
        assert isinstance(teacher, ChatTeacher)
        base = StudentPrompt(base=config.prompt.base, placement=config.prompt.rule_placement)
        sets = unscored_tip_sets(await teacher.tips(base.system, SAMPLES, config={}))
        await resources.directory.write_json("tips-redrawn.json", sets)
        document = tips_prompt_document(base, sets[chosen])
        await resources.directory.write_json(PROMPT_JSON, document)
    for tip_set in sets:
        print(tip_set.model_dump_json())


if __name__ == "__main__":
    extra = [a for a in sys.argv[4:] if a != "--set"]
    anyio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]), extra)
