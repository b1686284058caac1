"""Finding the program in a reply to a code problem (HumanEval style)."""

from __future__ import annotations

import re

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def code_blocks(reply: str) -> list[str]:
    """Fenced code blocks (python or unlabelled) in order; the whole reply when there is none."""
    blocks = [
        body for label, body in _FENCE.findall(reply) if label.lower() in ("", "python", "py")
    ]
    return blocks or ([reply] if reply.strip() else [])


def prompt_helpers(prompt: str, entry_point: str) -> str:
    """The prompt's code other than the function to write: imports and helper functions.

    HumanEval tests call helpers from the prompt (`poly`, `encode_cyclic`); running the prompt's
    own versions on the trusted side means a program cannot redefine what the tests compare with.
    """
    import ast

    try:
        tree = ast.parse(prompt)
    except SyntaxError:
        return ""
    kept = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point
        )
    ]
    if not any(isinstance(node, ast.FunctionDef | ast.ClassDef) for node in kept):
        return ""
    return ast.unparse(ast.Module(body=kept, type_ignores=[]))


def program_from_reply(prompt: str, entry_point: str, reply: str) -> str | None:
    """The program to test: the prompt completed by the reply, or the prompt + a whole function.

    A reply that defines the entry point replaces the prompt's stub (the prompt stays in front, so
    its imports and helper functions are defined); one that does not is taken as the body. A reply
    with no fence and no definition that does not compile either way is prose: no code (None).
    """
    definition = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.MULTILINE)
    # Code before the first fence counts too: small models often open with bare code and close
    # it with a stray fence, so their "block" is the prose that follows.
    blocks = [*code_blocks(reply), reply.split("```", 1)[0]]
    program = _program(prompt, definition, blocks)
    if program is None or _FENCE.search(reply) or definition.search(reply) or _compiles(program):
        return program
    return None


def _program(prompt: str, definition: re.Pattern[str], blocks: list[str]) -> str | None:
    whole = next((block for block in blocks if definition.search(block)), None)
    if whole is not None:
        return f"{prompt}    pass\n\n\n{whole.strip(chr(10))}\n"
    body = blocks[0].strip("\n")
    if not body.strip():
        return None
    if not body.startswith((" ", "\t")):
        body = "\n".join(f"    {line}" if line.strip() else line for line in body.splitlines())
    return f"{prompt}{body}\n"


def _compiles(program: str) -> bool:
    """Whether Python can parse it (nothing runs: the sandbox alone executes candidate code)."""
    try:
        compile(program, "<reply>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
