"""A plan drawn beside its baselines: totals per group and predicted performance per group."""

from __future__ import annotations

import numpy as np

from allocate.planning import Plan

__all__ = ["plot_plan"]


def plot_plan(plan: Plan):
    """Two panels: each group's planned total beside the equal and proportional totals, and
    each group's predicted metric under the three allocations.

    Returns the matplotlib Figure (the caller saves or shows it).
    """
    import matplotlib.pyplot as plt  # headless machines fall back to the Agg backend

    rows = [("plan", plan.groups)] + [(name, base.groups) for name, base in
                                      plan.baselines.items()]
    x = np.arange(len(plan.groups))
    width = 0.8 / len(rows)
    figure, (sizes, metric) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for k, (label, groups) in enumerate(rows):
        offset = (k - (len(rows) - 1) / 2) * width
        sizes.bar(x + offset, [g.total for g in groups], width, label=label)
        metric.bar(x + offset, [g.predicted for g in groups], width, label=label)
    sizes.bar(x + (-(len(rows) - 1) / 2) * width, [g.have for g in plan.groups], width,
              color="none", edgecolor="black", hatch="//", label="in hand")
    for axis in (sizes, metric):
        axis.set_xticks(x, plan.names, rotation=30 if len(x) > 6 else 0)
        axis.legend(frameon=False, fontsize="small")
    sizes.set_ylabel("total samples")
    sizes.set_title(f"Allocation ({plan.utility}); spent {plan.spent:.4g}")
    metric.set_ylabel(f"predicted {plan.sense}")
    metric.set_title(f"Predicted {plan.sense} per group")
    return figure
