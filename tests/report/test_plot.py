"""The accuracy plot labels whole iterations only."""

from __future__ import annotations

import pytest

from concept_distill.report.html import accuracy_figure


@pytest.mark.parametrize("rounds", [1, 2, 3, 12])
def test_iteration_ticks_are_whole_numbers(rounds: int) -> None:
    history = [
        {"iteration": iteration, "validation_accuracy": 0.5 + 0.01 * iteration}
        for iteration in range(rounds + 1)
    ]
    figure = accuracy_figure(history)
    figure.canvas.draw()
    (axes,) = figure.axes
    low, high = axes.get_xlim()
    shown = [tick for tick in axes.get_xticks() if low <= tick <= high]
    assert len(shown) >= 2
    assert all(float(tick).is_integer() for tick in shown), shown
