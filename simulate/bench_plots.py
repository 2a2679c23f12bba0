"""Figures of a benchmark: per-group performance against budget, each strategy's regret per
setting, and the adaptive path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["plot_performance", "plot_regret", "plot_adaptive_path", "save_benchmark_figures"]


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


def plot_regret(summary: pd.DataFrame):
    """Each strategy's mean regret with its 95% interval, per setting.

    ``summary`` is :attr:`simulate.benchmark.BenchResult.summary_table`. One column of panels
    per utility; the top row is the regret against the oracle, the bottom row the regret
    against the better of equal and proportional (above 0: worse than that heuristic). Each
    setting (budget, cost ratio, training mode) is one position on the horizontal axis.
    """
    plt = _pyplot()
    utilities = list(dict.fromkeys(summary["utility"]))
    strategies = [s for s in dict.fromkeys(summary["strategy"]) if s != "oracle"]
    figure, axes = plt.subplots(
        2, len(utilities), figsize=(4.5 * len(utilities), 6), squeeze=False, sharex="col",
        layout="constrained",
    )  # fmt: skip
    rows = (("regret", "regret vs oracle"), ("heuristic_regret", "vs better heuristic"))
    for column, utility in enumerate(utilities):
        table = summary[summary["utility"] == utility]
        settings = list(dict.fromkeys(_setting_labels(table)))
        for row, (name, label) in enumerate(rows):
            panel = axes[row][column]
            for k, strategy in enumerate(strategies):
                chosen = table[table["strategy"] == strategy]
                x = [settings.index(s) + (k - (len(strategies) - 1) / 2) * 0.8 / len(strategies)
                     for s in _setting_labels(chosen)]  # fmt: skip
                mean = chosen[name].to_numpy(float)
                error = [mean - chosen[f"{name}_low"].to_numpy(float),
                         chosen[f"{name}_high"].to_numpy(float) - mean]  # fmt: skip
                panel.errorbar(x, mean, yerr=error, fmt="o", capsize=2, label=strategy)
            panel.axhline(0.0, color="grey", linewidth=0.8)
            panel.set_xticks(range(len(settings)), settings, fontsize="small")
            panel.set_title(f"{utility}: {label}")
            panel.set_ylabel("regret")
    axes[0][0].legend(fontsize="small")
    return figure


def _setting_labels(table: pd.DataFrame) -> list[str]:
    return [
        f"B {budget:g}, x{ratio:g}" + ("" if training == "own" else f", {training}")
        for budget, ratio, training in zip(
            table["budget"], table["cost_ratio"], table["training"], strict=True
        )
    ]


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


def save_benchmark_figures(
    results: pd.DataFrame, paths: pd.DataFrame, out: Path, summary: pd.DataFrame | None = None
) -> list[Path]:
    """Draw the figures into ``out`` (PNG, written via a temporary file) and return the paths:
    ``performance.png``, ``adaptive_path.png`` and, given the ``summary`` table, ``regret.png``."""
    from allocate import save_figure_atomically

    written = []
    for name, figure in (
        ("performance.png", plot_performance(results)),
        ("adaptive_path.png", plot_adaptive_path(paths)),
        *([("regret.png", plot_regret(summary))] if summary is not None else []),
    ):
        save_figure_atomically(figure, Path(out) / name)
        written.append(Path(out) / name)
    return written
