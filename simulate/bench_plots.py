"""Figures of a benchmark: per-group performance against budget, and the adaptive path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["plot_performance", "plot_adaptive_path", "save_benchmark_figures"]


def _pyplot():
    import matplotlib.pyplot as plt  # headless machines fall back to the Agg backend

    return plt


def plot_performance(results: pd.DataFrame):
    """Mean per-group performance against budget, one line per strategy.

    One row of panels per utility, one column per group.
    """
    plt = _pyplot()
    utilities = list(dict.fromkeys(results["utility"]))
    groups = list(dict.fromkeys(results["group"]))
    figure, axes = plt.subplots(
        len(utilities), len(groups), figsize=(4 * len(groups), 3 * len(utilities)),
        squeeze=False, layout="constrained",
    )  # fmt: skip
    means = results.groupby(["utility", "group", "strategy", "budget"])["value"].mean()
    for row, utility in enumerate(utilities):
        for column, group in enumerate(groups):
            panel = axes[row][column]
            for strategy in dict.fromkeys(results["strategy"]):
                line = means.loc[(utility, group, strategy)]
                panel.plot(line.index, line.to_numpy(), marker="o", label=strategy)
            panel.set_title(f"{group} ({utility})")
            panel.set_xlabel("budget")
            panel.set_ylabel("performance")
    axes[0][0].legend(fontsize="small")
    return figure


def plot_adaptive_path(paths: pd.DataFrame, replicate: int = 0):
    """The adaptive strategy's totals per group, round by round, in one replicate."""
    plt = _pyplot()
    chosen = paths[paths["replicate"] == replicate]
    settings = chosen.drop_duplicates(["utility", "budget", "cost_ratio", "training"])
    figure, axes = plt.subplots(
        1, max(len(settings), 1), figsize=(4 * max(len(settings), 1), 3), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    for panel, (_, setting) in zip(axes[0], settings.iterrows(), strict=False):
        rows = chosen[
            (chosen["utility"] == setting["utility"]) & (chosen["budget"] == setting["budget"])
            & (chosen["cost_ratio"] == setting["cost_ratio"])
            & (chosen["training"] == setting["training"])
        ]  # fmt: skip
        for group, line in rows.groupby("group", sort=False):
            panel.plot(line["round"], line["total"], marker="o", label=group)
        panel.set_title(
            f"{setting['utility']}, budget {setting['budget']:g}, cost x{setting['cost_ratio']:g}"
        )
        panel.set_xlabel("round")
        panel.set_ylabel("samples")
    axes[0][0].legend(fontsize="small")
    return figure


def save_benchmark_figures(results: pd.DataFrame, paths: pd.DataFrame, out: Path) -> list[Path]:
    """Draw both figures into ``out`` (PNG, written via a temporary file) and return the paths."""
    from allocate import save_figure_atomically

    written = []
    for name, figure in (
        ("performance.png", plot_performance(results)),
        ("adaptive_path.png", plot_adaptive_path(paths)),
    ):
        save_figure_atomically(figure, Path(out) / name)
        written.append(Path(out) / name)
    return written
