"""The benchmark's figures draw the numbers of its tables."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from simulate.bench_plots import plot_regret, save_benchmark_figures
from simulate.benchmark import preset_config, run_benchmark

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def two_settings(tmp_path_factory):
    config = preset_config(
        "synthetic", strategies=("adaptive", "equal", "proportional", "oracle"),
        utilities=("maximin", "weighted"), budgets=(1500.0,), cost_ratios=(1.0, 4.0),
        replicates=2,
    )  # fmt: skip
    return run_benchmark(config, tmp_path_factory.mktemp("bench"), workers=1)


def test_the_regret_figure_plots_each_strategys_mean_and_interval(two_settings):
    summary = two_settings.summary_table
    figure = plot_regret(summary)
    axes = figure.axes
    assert len(axes) == 4  # two rows (vs oracle, vs better heuristic) x two utilities
    for column, utility in enumerate(("maximin", "weighted")):
        for row, name in enumerate(("regret", "heuristic_regret")):
            panel = axes[row * 2 + column]
            assert panel.get_title().startswith(utility)
            lines = {c.get_label(): c for c in panel.containers}
            assert set(lines) == {"adaptive", "equal", "proportional"}  # not the oracle
            for strategy, container in lines.items():
                expected = summary[(summary["utility"] == utility)
                                   & (summary["strategy"] == strategy)]  # fmt: skip
                points = container.lines[0].get_ydata()
                np.testing.assert_allclose(points, expected[name].to_numpy(float))
                # The error bar runs from the interval's low end to its high end.
                segments = container.lines[2][0].get_segments()
                np.testing.assert_allclose([s[0][1] for s in segments], expected[f"{name}_low"])
                np.testing.assert_allclose([s[1][1] for s in segments], expected[f"{name}_high"])
        labels = [t.get_text() for t in axes[2 + column].get_xticklabels()]  # bottom row
        assert labels == ["B 1500, x1", "B 1500, x4"]


def test_the_figures_are_written_and_the_regret_figure_needs_the_summary(two_settings, tmp_path):
    result = two_settings
    without = save_benchmark_figures(result.results, result.paths, tmp_path)
    assert [p.name for p in without] == ["performance.png", "adaptive_path.png"]
    written = save_benchmark_figures(result.results, result.paths, tmp_path,
                                     result.summary_table)  # fmt: skip
    assert [p.name for p in written] == ["performance.png", "adaptive_path.png", "regret.png"]
    assert all(p.stat().st_size > 0 for p in written)
