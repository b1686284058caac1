"""The agents: the student answers, the verifier judges, the teacher writes rules.

`Student`, `Teacher` and `Verifier` are the contracts (protocols) the graph knows; `ChatStudent`,
`ChatTeacher` and `TaskVerifier` are the package's implementations over the model layer and the
task's scorer or sandbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from concept_distill._lazy import lazy_getattr

if TYPE_CHECKING:
    from concept_distill.agents.contracts import Student, Teacher, Verifier
    from concept_distill.agents.student import ChatStudent
    from concept_distill.agents.teacher import ChatTeacher, Induction, ProposedRule, TeacherReply
    from concept_distill.agents.verifier import CodeRunner, TaskVerifier

# Resolved on first use (PEP 562): `agents.prompts` is read by the config, which must not pay for
# LangChain.
_EXPORTS: dict[str, str] = {
    "ChatStudent": "concept_distill.agents.student",
    "ChatTeacher": "concept_distill.agents.teacher",
    "CodeRunner": "concept_distill.agents.verifier",
    "Induction": "concept_distill.agents.teacher",
    "ProposedRule": "concept_distill.agents.teacher",
    "Student": "concept_distill.agents.contracts",
    "TaskVerifier": "concept_distill.agents.verifier",
    "Teacher": "concept_distill.agents.contracts",
    "TeacherReply": "concept_distill.agents.teacher",
    "Verifier": "concept_distill.agents.contracts",
}

__all__ = [
    "ChatStudent",
    "ChatTeacher",
    "CodeRunner",
    "Induction",
    "ProposedRule",
    "Student",
    "TaskVerifier",
    "Teacher",
    "TeacherReply",
    "Verifier",
]


__getattr__ = lazy_getattr(__name__, _EXPORTS)
