"""The agents: the student answers, the verifier judges, the teacher writes rules."""
