"""The agents: the student answers, the verifier judges, the teacher writes rules.

`Student`, `Teacher` and `Verifier` are the contracts (protocols) the graph knows; `ChatStudent`,
`ChatTeacher` and `TaskVerifier` are the package's implementations over the model layer and the
task's scorer or sandbox.
"""

from concept_distill.agents.contracts import Student, Teacher, Verifier
from concept_distill.agents.student import ChatStudent
from concept_distill.agents.teacher import ChatTeacher, Induction, ProposedRule, TeacherReply
from concept_distill.agents.verifier import CodeRunner, TaskVerifier

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
