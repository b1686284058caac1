"""The method itself, as plain functions and small policies; no LangGraph inside.

The graph's nodes are thin adapters over these modules:
- `evaluation`: the student and the verifier over examples; paired comparison, reply lengths.
- `selection`: which train mistakes the teacher sees, in batches within its token budget.
- `candidates`: a teacher's reply as candidate rules; de-duplication; decisions as records.
- `rounds`: one round of greedy acceptance (races against the incumbent prompt), every policy.
- `acceptance` / `racing`: the policies (threshold, paired_test, racing and its exact
  sequential test).
- `audit`: leave-one-out pruning of accepted rules before the test split.
- `stopping`: stop conditions (budgets, patience, no mistakes left, max iterations).
- `stats`: Wilson, exact McNemar, Newcombe's paired interval.
- `health`: when unjudged examples make a run a system failure.
"""
