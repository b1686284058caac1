"""The model layer: each role's chat model, limited, retried, cached and counted in one place.

Typical use (a malformed structured reply is data in `result.failure`, not an exception):

```python
async with ModelSet(
    {"student": student_config, "teacher": teacher_config}, cache_path=run_dir / "responses.db"
) as models:
    reply = await models["student"].complete([("system", prompt), ("user", question)])
    result = await models["teacher"].structured(messages, Diagnosis)
    print(models.spend().render())
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from concept_distill._lazy import lazy_getattr

if TYPE_CHECKING:
    from concept_distill.models.accounting import Spend, SpendMeter, SpendReport
    from concept_distill.models.cache import CachedReply, ResponseCache, cache_key
    from concept_distill.models.client import RoleModel
    from concept_distill.models.config import ModelConfig, StructuredMode
    from concept_distill.models.limits import EndpointLimits, LimitsRegistry
    from concept_distill.models.messages import MessagesInput, WireMessage, to_wire
    from concept_distill.models.modelset import ModelSet
    from concept_distill.models.protocol import ChatRole
    from concept_distill.models.replies import ChatReply, StructuredFailure, StructuredResult
    from concept_distill.models.structured import parse_reply

# Public name -> the module that defines it. Resolved on first use (PEP 562), so reading a
# config (which needs `ModelConfig`) does not import LangChain and the OpenAI client.
_EXPORTS: dict[str, str] = {
    "CachedReply": "concept_distill.models.cache",
    "ChatReply": "concept_distill.models.replies",
    "ChatRole": "concept_distill.models.protocol",
    "EndpointLimits": "concept_distill.models.limits",
    "LimitsRegistry": "concept_distill.models.limits",
    "MessagesInput": "concept_distill.models.messages",
    "ModelConfig": "concept_distill.models.config",
    "ModelSet": "concept_distill.models.modelset",
    "ResponseCache": "concept_distill.models.cache",
    "RoleModel": "concept_distill.models.client",
    "Spend": "concept_distill.models.accounting",
    "SpendMeter": "concept_distill.models.accounting",
    "SpendReport": "concept_distill.models.accounting",
    "StructuredFailure": "concept_distill.models.replies",
    "StructuredMode": "concept_distill.models.config",
    "StructuredResult": "concept_distill.models.replies",
    "WireMessage": "concept_distill.models.messages",
    "cache_key": "concept_distill.models.cache",
    "parse_reply": "concept_distill.models.structured",
    "to_wire": "concept_distill.models.messages",
}

__all__ = [
    "CachedReply",
    "ChatReply",
    "ChatRole",
    "EndpointLimits",
    "LimitsRegistry",
    "MessagesInput",
    "ModelConfig",
    "ModelSet",
    "ResponseCache",
    "RoleModel",
    "Spend",
    "SpendMeter",
    "SpendReport",
    "StructuredFailure",
    "StructuredMode",
    "StructuredResult",
    "WireMessage",
    "cache_key",
    "parse_reply",
    "to_wire",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)
