"""A plan drawn beside its baselines: totals per group and predicted performance per group."""

from __future__ import annotations

import math

import numpy as np

from allocate.planning import Plan
from allocate.study_file import StudySpec

__all__ = ["plot_plan", "readable_number", "BASELINE_MEANINGS"]

#: What each baseline bar means, as the figure's note says it.
BASELINE_MEANINGS: dict[str, str] = {
    "equal": "equal: the same total for every group",
    "proportional": "proportional: totals in proportion to the groups' weights",
}


def readable_number(value: float) -> str:
    """A count or cost for a person: thousands separated, no exponent below a trillion.

    Examples
    --------
    >>> readable_number(20000.0), readable_number(1234.5), readable_number(0.25)
    ('20,000', '1,234.5', '0.25')
    """
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e12 or (value != 0 and abs(value) < 1e-3):
        return f"{value:.3g}"
    if abs(value) >= 1000:
        return f"{value:,.1f}".removesuffix(".0")
    return f"{value:.4g}"


def plot_plan(plan: Plan, *, study: StudySpec | None = None):
    """Two panels: each group's planned total beside the equal and proportional totals, and
    each group's predicted metric under the three allocations.

    Parameters
    ----------
    plan : Plan
        The plan to draw.
    study : StudySpec, optional
        The planned study; with it, groups' targets are drawn as lines on the metric panel.

    Returns the matplotlib Figure (the caller saves or shows it).
    """
    import matplotlib.pyplot as plt  # headless machines fall back to the Agg backend

    rows = [("plan", plan.groups)] + [(name, base.groups) for name, base in
                                      plan.baselines.items()]
    x = np.arange(len(plan.groups))
    width = 0.8 / len(rows)
    figure, (sizes, metric) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    for k, (label, groups) in enumerate(rows):
        offset = (k - (len(rows) - 1) / 2) * width
        sizes.bar(x + offset, [g.total for g in groups], width, label=label)
        metric.bar(x + offset, [g.predicted for g in groups], width, label=label)
    sizes.bar(x + (-(len(rows) - 1) / 2) * width, [g.have for g in plan.groups], width,
              color="none", edgecolor="black", hatch="//", label="in hand")
    if study is not None:
        _draw_targets(metric, study, x)
    for axis in (sizes, metric):
        axis.set_xticks(x, plan.names, rotation=30 if len(x) > 6 else 0)
        axis.legend(frameon=False, fontsize="small")
    sizes.set_ylabel("total samples")
    budget = "" if plan.budget is None else f" of {readable_number(plan.budget)}"
    sizes.set_title(f"Allocation ({plan.utility}); spent {readable_number(plan.spent)}{budget}")
    metric.set_ylabel(f"predicted {plan.sense}")
    metric.set_title(f"Predicted {plan.sense} per group")
    meanings = [BASELINE_MEANINGS.get(name, name) for name in plan.baselines]
    figure.supxlabel("; ".join(meanings) + "; both on the same budget", fontsize="small")
    return figure


def _draw_targets(axis, study: StudySpec, x: np.ndarray) -> None:
    """A dashed line across each group's bars at its target (one legend entry)."""
    marked = [(position, group.target) for position, group in zip(x, study.groups, strict=True)
              if group.target is not None]
    if marked:
        positions, targets = np.array(marked).T
        axis.hlines(targets, positions - 0.45, positions + 0.45, colors="black",
                    linestyles="--", label="target")
