"""Racing acceptance: a sequential exact test per candidate, stopped as soon as it decides.

Each candidate of a race is compared with the incumbent prompt on the validation examples in
one fixed, seeded order; after every complete chunk its test looks at the discordant pairs
(`fixed`: wrong before, right with the rule; `broken`: the reverse) and says accepted, dropped,
or go on.

The guarantee (exact, no normal approximation): **in one round, the probability of accepting
any rule whose true paired effect against its incumbent is zero or less is at most `alpha`**,
re-races included. Precisely:

- Null hypothesis for a candidate in a race: conditionally on everything observed before it
  and on which examples are discordant, each discordant pair is a fix with probability at most
  1/2. It holds when the validation examples are independent draws from the task on which
  the rule does not raise accuracy against that incumbent (the "true effect" is the task's;
  the seeded order keeps any ordering of the split, by source or difficulty, out of the
  sequence), and also when every example's chance of being fixed is at most its chance of
  being broken. It is not a statement about the finite split's own average.
- Race r of a round has level `alpha * s` for r = 1 and `alpha * (1 - s) * 2^-(r-1)` for
  r >= 2 (s = `first_race_share`; s = 1/2 gives alpha * 2^-r), and each of its k candidates
  gets level / k (Bonferroni, valid whatever the dependence through the shared incumbent).
  The levels sum to at most `alpha`, so the union bound over races and candidates gives the
  round's bound.
- Within a candidate's race, the acceptance boundary is an exact error-spending boundary on the
  number of fixes given the discordant count: at the look after `t` of `n` examples, with D
  discordant pairs so far, it is the smallest count a such that the probability, for a fair
  coin, of reaching a fixes among D tosses without having crossed an earlier boundary is at
  most level * (t/n)^power minus what earlier looks spent. These probabilities are computed
  with integers (paths over 2^D), so nothing is rounded. The boundary depends on the
  discordance pattern only, never on the signs, so conditionally on that pattern the crossing
  probability is at most the spent level for a fair coin, and less for any coin that favours
  breaks (crossing an upper boundary is monotone in the coin). Unjudged examples are left out
  of the pairs, as in `paired_test`.
- Two drop rules trade calls for power. `not_better` is binding and part of the boundary: after
  `min_examples`, a candidate whose optimistic net gain (fixes - breaks + `futility_z` *
  sqrt(discordant)) is below `min_effect` per judged example stops, and since that rule depends
  on the fixes only through a threshold fixed by the discordance pattern, the same paths are
  removed from the boundary's count, so the alpha they would have spent is kept for later looks
  (exact, as above). `futility` is non-binding (never needed for the bound): it stops a
  candidate that could not reach acceptance even if every remaining example were a fix (a
  necessary condition: the fixes' fair-coin tail must be at most twice the level, since earlier
  crossings removed at most the level).

The per-run bound is rounds x alpha. Decisions are taken only on complete chunks in the fixed
order, so neither the order in which replies complete nor a resume changes them.
"""

from __future__ import annotations

import math
from fractions import Fraction

from concept_distill.loop.acceptance import CandidateTest, Decision, RaceContext, Tally, Verdict
from concept_distill.loop.stats import PairedComparison, binomial_tail


def race_level(alpha: float, race: int, first_race_share: float) -> Fraction:
    """The share of the round's `alpha` that race `race` (1-based) spends, over all candidates.

    Exact (rational) arithmetic, so the shares of all races sum to less than `alpha` exactly.
    """
    if race < 1:
        raise ValueError("races are numbered from 1")
    share = Fraction(first_race_share)
    if race == 1:
        return Fraction(alpha) * share
    return Fraction(alpha) * (1 - share) / (1 << (race - 1))


class SpendingBoundary:
    """Exact error-spending boundary on the fixes among discordant pairs, for a fair coin.

    `paths[s]` counts the sign sequences of the D discordant pairs seen so far with s fixes that
    have not crossed an earlier boundary; their probability is paths[s] / 2^D.
    """

    def __init__(self, level: Fraction | float, split_size: int, power: float) -> None:
        self.level = Fraction(level)
        self.split_size = split_size
        self.power = power
        self.paths: list[int] = [1]
        self.spent = Fraction(0)

    @property
    def discordant(self) -> int:
        """Discordant pairs seen so far."""
        return len(self.paths) - 1

    def look(self, seen: int, discordant: int) -> int:
        """The fixes needed for acceptance at this look; spends what crossing it would cost.

        Returns discordant + 1 when nothing can be accepted at this look.
        """
        self._extend(discordant)
        fraction = min(1.0, seen / self.split_size) ** self.power if self.split_size else 1.0
        allowed = self.level * Fraction(fraction) - self.spent
        scale = 1 << discordant
        boundary, tail = discordant + 1, 0
        # Lower the boundary while the tail stays within what may be spent; a rule must also
        # have fixed more than it broke.
        while boundary - 1 > discordant // 2:
            candidate_tail = tail + self.paths[boundary - 1]
            if Fraction(candidate_tail, scale) > allowed:
                break
            boundary, tail = boundary - 1, candidate_tail
        self.spent += Fraction(tail, scale)
        for s in range(boundary, discordant + 1):
            self.paths[s] = 0
        return boundary

    def drop(self, fewest: int) -> None:
        """Remove the paths with fewer than `fewest` fixes: they stop here, and cannot cross."""
        for s in range(min(fewest, len(self.paths))):
            self.paths[s] = 0

    def _extend(self, discordant: int) -> None:
        for _ in range(discordant - self.discordant):
            old = self.paths
            self.paths = [
                (old[s] if s < len(old) else 0) + (old[s - 1] if s > 0 else 0)
                for s in range(len(old) + 1)
            ]


class RacingTest:
    """One candidate's sequential test in one race (see the module docstring)."""

    def __init__(
        self,
        context: RaceContext,
        level: Fraction,
        *,
        spending_power: float,
        min_effect: float,
        futility_z: float,
        min_examples: int,
    ) -> None:
        self.context = context
        self.level = level
        self.boundary = SpendingBoundary(level, context.split_size, spending_power)
        self.min_effect = min_effect
        self.futility_z = futility_z
        self.min_examples = min_examples

    def look(self, tally: Tally) -> Verdict:
        """Accept on crossing the boundary; drop when it cannot or should not; else go on."""
        discordant = tally.fixed + tally.broken
        needed = self.boundary.look(tally.seen, discordant)
        p = binomial_tail(tally.fixed, discordant) if discordant else 1.0
        counts = f"fixed {tally.fixed}, broke {tally.broken} in {tally.examples}"
        if tally.fixed >= needed:
            return Verdict("accepted", p, f"{counts}: reached {needed} fixes", needed)
        remaining = self.context.split_size - tally.seen
        if remaining <= 0:
            return Verdict("end_of_split", p, f"{counts}: needed {needed} fixes", needed)
        best = binomial_tail(tally.fixed + remaining, discordant + remaining)
        if best > 2 * self.level:
            return Verdict("futility", p, f"{counts}: cannot reach acceptance", needed)
        if tally.seen >= self.min_examples:
            fewest = self._fewest_fixes(tally.examples, discordant)
            self.boundary.drop(fewest)  # binding: the same rule, applied to every path
            if tally.fixed < fewest:
                reason = f"{counts}: fewer than the {fewest} fixes of a gain of {self.min_effect}"
                return Verdict("not_better", p, reason, needed)
        return Verdict(None, p, counts, needed)

    def _fewest_fixes(self, examples: int, discordant: int) -> int:
        """Fewest fixes F for which F - broken + z*sqrt(discordant) >= min_effect * examples."""
        needed = self.min_effect * examples + discordant - self.futility_z * math.sqrt(discordant)
        return max(0, math.ceil(needed / 2 - 1e-12))


class RacingPolicy:
    """The racing policy's parameters; `test` makes each candidate's sequential test."""

    def __init__(
        self,
        alpha: float = 0.1,
        *,
        chunk_size: int = 5,
        first_race_share: float = 0.95,
        spending_power: float = 5.0,
        min_effect: float = 0.055,
        futility_z: float = 1.0,
        min_examples: int = 20,
    ) -> None:
        self.alpha = alpha
        self.chunk_size: int | None = chunk_size
        self.first_race_share = first_race_share
        self.spending_power = spending_power
        self.min_effect = min_effect
        self.futility_z = futility_z
        self.min_examples = min_examples

    def candidate_level(self, race: int, candidates: int) -> Fraction:
        """One candidate's level in race `race` with `candidates` candidates (Bonferroni)."""
        return race_level(self.alpha, race, self.first_race_share) / max(1, candidates)

    def test(self, context: RaceContext) -> CandidateTest:
        """A fresh sequential test at this candidate's share of the round's alpha."""
        return RacingTest(
            context,
            self.candidate_level(context.race, context.candidates),
            spending_power=self.spending_power,
            min_effect=self.min_effect,
            futility_z=self.futility_z,
            min_examples=self.min_examples,
        )

    def decide(self, comparison: PairedComparison, *, candidates: int) -> Decision:
        """Whole-split fallback: the exact one-sided test at the first race's candidate level."""
        level = self.candidate_level(1, candidates)
        summary = (
            f"fixed {comparison.fixed}, broke {comparison.broken}, "
            f"p={comparison.p_better:.3g} vs level {float(level):.3g}"
        )
        accepted = comparison.fixed > comparison.broken and comparison.p_better <= level
        return Decision(accepted=accepted, reason=summary)
