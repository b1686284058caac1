"""Fixtures for every test directory: the anyio backend and a session-wide real local server."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal

from concept_distill.local.build import find_server
from concept_distill.local.download import model_path
from concept_distill.local.registry import DEFAULT_TEST_MODEL, get_model
from concept_distill.local.server import LlamaServer

sys.path.insert(0, str(Path(__file__).parent))  # shared test support: `import support.fakes`

MAKE_HINT = "run `make local-models` (or `make test`, which builds and fetches first)"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class LocalEndpoint:
    """Where the session's real llama-server answers."""

    base_url: str
    """OpenAI-compatible base URL, `http://127.0.0.1:PORT/v1`."""
    model: str
    """Model name to send in requests (`smollm2-135m`)."""
    root_url: str
    """llama-server's own endpoints: `/health`, `/metrics`, `/slots`."""


def require_embedded_default() -> None:
    """Fail (never skip) unless the llama-server binary and the test model are in place."""
    if find_server() is None:
        pytest.fail(f"llama-server is not built; {MAKE_HINT}", pytrace=False)
    model = get_model(DEFAULT_TEST_MODEL)
    path = model_path(model)
    if not path.is_file() or path.stat().st_size != model.size:
        pytest.fail(f"{DEFAULT_TEST_MODEL} is not fetched ({path}); {MAKE_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def local_server() -> Iterator[LocalEndpoint]:
    """A real llama-server with SmolLM2-135M (4 slots of 4,096 tokens), once per session.

    Talk to `local_server.base_url` with any OpenAI-compatible client as
    `model=local_server.model`; sampling settings are the client's business. The server runs
    in a blocking portal's thread, so this fixture is synchronous and serves async and sync
    tests alike, whatever `anyio_backend` a directory declares.
    """
    require_embedded_default()
    server = LlamaServer(DEFAULT_TEST_MODEL, parallel=4, ctx_per_slot=4096)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(server):
        yield LocalEndpoint(
            base_url=server.base_url, model=DEFAULT_TEST_MODEL, root_url=server.root_url
        )
