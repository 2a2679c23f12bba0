"""Regret against the better heuristic, and the power analysis, on results with known values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.power import TTestPower

from allocate.errors import InputError
from simulate.benchmark import compare_strategies, preset_config, run_benchmark, summarise
from simulate.power_analysis import power_analysis

SETTING = dict(utility="maximin", budget=100.0, cost_ratio=2.0, training="own")


def results_with_regrets(regrets: dict[str, list[float]]) -> pd.DataFrame:
    """Tidy results of one setting: one row per replicate, strategy and group (two groups)."""
    rows = []
    for name, values in regrets.items():
        for replicate, regret in enumerate(values):
            for group in ("A", "B"):
                rows.append({"replicate": replicate, **SETTING, "strategy": name,
                             "group": group, "value": 1.0, "objective": 2.0 - regret,
                             "oracle_objective": 2.0, "regret": regret})  # fmt: skip
    return pd.DataFrame(rows)


def test_regret_against_the_better_heuristic_is_taken_replicate_by_replicate():
    results = results_with_regrets({
        "oracle": [0.0, 0.0, 0.0],
        "equal": [0.1, 0.4, 0.2],
        "proportional": [0.3, 0.1, 0.2],
        "adaptive": [0.2, 0.2, 0.0],
    })  # fmt: skip
    table = summarise(results).set_index("strategy")
    # the better heuristic per replicate: 0.1, 0.1, 0.2 (not the better mean, equal's 0.233)
    assert table.loc["adaptive", "heuristic_regret"] == pytest.approx((0.1 + 0.1 - 0.2) / 3)
    assert table.loc["oracle", "heuristic_regret"] == pytest.approx(-0.4 / 3)
    assert table.loc["equal", "heuristic_regret"] == pytest.approx(0.3 / 3)
    assert table.loc["proportional", "heuristic_regret"] == pytest.approx(0.2 / 3)
    low, high = stats.t.interval(0.95, 2, loc=0.0, scale=stats.sem([0.1, 0.1, -0.2]))
    assert table.loc["adaptive", "heuristic_regret_low"] == pytest.approx(low)
    assert table.loc["adaptive", "heuristic_regret_high"] == pytest.approx(high)


def test_the_comparisons_are_paired_t_tests_against_the_recommended_strategy():
    results = results_with_regrets({
        "oracle": [0.0, 0.0, 0.0],
        "adaptive": [0.3, 0.1, 0.2],
        "expected": [0.1, 0.1, 0.1],
        "equal": [0.1, 0.1, 0.1],  # collected as expected did, in every replicate
    })  # fmt: skip
    table = compare_strategies(results).set_index("other")
    assert set(table["reference"]) == {"expected"} and set(table.index) == {"adaptive", "equal"}
    test = stats.ttest_1samp([0.2, 0.0, 0.1], 0.0)
    low, high = stats.t.interval(0.95, 2, loc=0.1, scale=stats.sem([0.2, 0.0, 0.1]))
    assert table.loc["adaptive", ["difference", "low", "high", "p_value"]].tolist() == \
        pytest.approx([0.1, low, high, test.pvalue])
    assert table.loc["equal", ["difference", "low", "high", "p_value"]].tolist() == [0, 0, 0, 1]
    assert table.loc["adaptive", "p_holm"] == pytest.approx(min(1.0, 2 * test.pvalue))
    by_adaptive = compare_strategies(results, "adaptive")
    assert set(by_adaptive["reference"]) == {"adaptive"}
    assert set(by_adaptive["other"]) == {"expected", "equal"}


def test_without_both_heuristics_there_is_no_regret_against_them():
    results = results_with_regrets({"oracle": [0.0, 0.0], "equal": [0.1, 0.2]})
    assert summarise(results)["heuristic_regret"].isna().all()


def test_a_synthetic_benchmark_reports_regret_against_the_better_heuristic(tmp_path):
    config = preset_config("synthetic", strategies=("adaptive", "equal", "proportional", "oracle"),
                           utilities=("maximin",), budgets=(1000.0,), replicates=3)
    result = run_benchmark(config, tmp_path, workers=1)
    runs = result.results.drop_duplicates(["replicate", "strategy"])
    wide = runs.pivot(index="replicate", columns="strategy", values="objective")
    best = wide[["equal", "proportional"]].max(axis=1)  # scores: higher is better
    table = result.summary_table.set_index("strategy")
    expected = (best - wide["adaptive"]).mean()
    assert table.loc["adaptive", "heuristic_regret"] == pytest.approx(expected)
    assert table.loc["oracle", "heuristic_regret"] == pytest.approx((best - wide["oracle"]).mean())
    assert (tmp_path / "power.csv").exists()
    assert set(result.power["against"]) == {"equal", "proportional"}


def noncentral_power(effect: float, n: int, alpha: float = 0.05) -> float:
    """Two-sided paired t-test power from the noncentral t distribution."""
    critical = stats.t.ppf(1 - alpha / 2, n - 1)
    shift = effect * np.sqrt(n)
    return stats.nct.sf(critical, n - 1, shift) + stats.nct.cdf(-critical, n - 1, shift)


def test_the_power_analysis_matches_statsmodels_and_the_noncentral_t():
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(12)
    gains = 0.05 + 0.1 * (noise - noise.mean()) / noise.std(ddof=1)  # mean 0.05, sd 0.1
    results = results_with_regrets({"oracle": [0.0] * 12, "equal": list(gains),
                                    "proportional": list(2 * gains)})  # fmt: skip
    table = power_analysis(results).set_index("against")
    row = table.loc["equal"]
    assert row["gain"] == pytest.approx(0.05) and row["sd"] == pytest.approx(0.1)
    assert row["effect_size"] == pytest.approx(0.5) and row["n"] == 12
    assert row["p_value"] == pytest.approx(stats.ttest_1samp(gains, 0.0).pvalue)
    assert row["power"] == pytest.approx(noncentral_power(0.5, 12), rel=1e-6)
    # statsmodels solves n = 33.37 for d = 0.5: 34 replicates, the least with 80% power
    solved = TTestPower().solve_power(effect_size=0.5, alpha=0.05, power=0.8)
    assert row["replicates_needed"] == np.ceil(solved) == 34
    assert noncentral_power(0.5, 34) >= 0.8 > noncentral_power(0.5, 33)
    # the same effect size whatever the scale
    assert table.loc["proportional", "replicates_needed"] == 34


def test_a_gain_no_replicate_varies_on_and_bad_levels():
    results = results_with_regrets({"oracle": [0.0] * 3, "equal": [0.2] * 3,
                                    "proportional": [0.0] * 3})  # fmt: skip
    table = power_analysis(results).set_index("against")
    assert table.loc["equal", "replicates_needed"] == 2 and table.loc["equal", "sd"] == 0
    assert np.isnan(table.loc["proportional", "replicates_needed"])
    with pytest.raises(InputError, match="power must be between 0 and 1"):
        power_analysis(results, power=1.2)
