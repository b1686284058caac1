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
