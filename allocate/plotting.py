"""Figures for people: learning curves with their bands. Matplotlib is imported on use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from allocate.fitting import CurveFits

__all__ = ["plot_curves", "save_figure_atomically"]


def plot_curves(fits: CurveFits, points: pd.DataFrame):
    """Points and fitted curves with their interval bands, one colour per group, log-log axes.

    Each curve is solid over the sizes it was fitted on and dashed beyond them (to 4 times the
    largest), where it is an extrapolation.

    Returns the matplotlib Figure (the caller saves or shows it).
    """
    import matplotlib.pyplot as plt  # headless machines fall back to the Agg backend

    figure, axes = plt.subplots(figsize=(7, 4.5), layout="constrained")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, fit in enumerate(fits):
        colour = colours[index % len(colours)]
        rows = points[points["group"] == fit.group]
        axes.scatter(rows["n"], rows["value"], s=12, alpha=0.6, color=colour)
        grid = np.geomspace(rows["n"].min(), rows["n"].max() * 4, 200)
        pooled = grid * (rows["n_total"] / rows["n"]).median()
        lower, upper = fit.predict_interval(grid, pooled)
        predicted = fit.predict(grid, pooled)
        measured = grid <= rows["n"].max()
        axes.plot(grid[measured], predicted[measured], color=colour, label=fit.group)
        axes.plot(grid[~measured], predicted[~measured], color=colour, linestyle="--")
        axes.fill_between(grid, lower, upper, color=colour, alpha=0.2, linewidth=0)
    axes.set_xscale("log")
    if fits.sense == "loss" and (points["value"] > 0).all():
        axes.set_yscale("log")
    axes.set_xlabel("own-group training size n")
    axes.set_ylabel("loss" if fits.sense == "loss" else "score")
    axes.set_title(f"Learning curves ({fits.family}; band: {100 * fits.level:g}% interval;"
                   " dashed: beyond the measured sizes)")
    axes.legend()
    return figure


def save_figure_atomically(figure, path: str | Path) -> None:
    """Save ``figure`` through :func:`allocate.files.atomic_path`, then close it."""
    import matplotlib.pyplot as plt

    from allocate.files import atomic_path

    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=120)
    finally:
        plt.close(figure)
