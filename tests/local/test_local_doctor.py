from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from concept_distill.local.checkup import check_endpoint, doctor
from concept_distill.local.registry import get_model
from concept_distill.local.server import free_port

pytestmark = pytest.mark.anyio


async def test_doctor_distinguishes_present_from_corrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONCEPT_DISTILL_LLAMA_SERVER", raising=False)
    model = get_model("smollm2-135m")
    (tmp_path / "models").mkdir()
    with (tmp_path / "models" / model.filename).open("wb") as wrong:
        wrong.truncate(model.size)
    quick = await doctor(tmp_path, verify=False)
    assert quick.models[0].present and quick.models[0].verified is None
    deep = await doctor(tmp_path, verify=True)
    assert deep.models[0].present and deep.models[0].verified is False
    assert "fetch --model smollm2-135m" in deep.models[0].hint
    assert not deep.ok and not deep.binary.ok


async def test_unreachable_endpoint_is_reported_not_raised() -> None:
    check = await check_endpoint(f"http://127.0.0.1:{free_port()}/v1")
    assert not check.reachable and "ConnectError" in check.detail


@pytest.mark.slow
async def test_doctor_sees_the_real_default(local_server: Any) -> None:
    report = await doctor(verify=False, base_urls=(local_server.base_url,))
    assert report.binary.ok and report.binary.version
    assert report.endpoints[0].models == [local_server.model]
    assert report.ok
