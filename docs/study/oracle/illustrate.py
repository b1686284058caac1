"""How `illustrations.json` was made: the teacher writes a one-line worked illustration per rule.

The study's rule-form check (issue 12): the oracle rules, bare or each followed by an
illustration the teacher (Qwen2.5-Coder-1.5B, greedy) invented; never taken from any data split.
Serve the teacher first, then pass its base URL (without /v1):
    concept-distill models serve -m qwen2.5-coder-1.5b --port 18555 --parallel 1 &
    python docs/study/oracle/illustrate.py http://127.0.0.1:18555
"""

import json
import sys
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent


def main(base_url: str) -> None:
    rules = [json.loads(line) for line in (HERE / "rules.jsonl").read_text().splitlines()]
    out = []
    for rule in rules:
        messages = [
            {
                "role": "system",
                "content": "You write short worked examples that show a rule for math word "
                "problems in use.",
            },
            {
                "role": "user",
                "content": "Rule: " + rule["text"] + "\n\n"
                "Give a one-line worked example of this rule on a small problem you invent "
                "yourself (at most 40 words, one line, with the arithmetic and the answer). "
                "Reply with the example line only.",
            },
        ]
        body = {"model": "qwen2.5-coder-1.5b", "messages": messages, "temperature": 0,
                "seed": 1, "max_tokens": 120}  # fmt: skip
        request = urllib.request.Request(
            base_url + "/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=600) as response:
            reply = json.load(response)["choices"][0]["message"]["content"]
        example = " ".join(reply.split())
        out.append({"id": rule["id"], "rule": rule["text"], "example": example, "prompt": messages})
        print(rule["id"], "->", example, flush=True)
    (HERE / "illustrations.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
