"""The benchmark's pool source: a labelled table replayed as if collected, replicate by replicate.

The table is simulated with known truth: ``y = X w + noise`` with a per-group noise, so a ridge
model's R^2 on a group's held-out rows tends to ``|w|^2 / (|w|^2 + sigma^2)``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocate.cli import main
from allocate.errors import InputError
from simulate.benchmark import BenchConfig, pool_config, run_benchmark, run_replicate
from simulate.config import PoolWorld

WEIGHTS = np.array([1.0, -0.5, 0.8, 0.3])
SIGMAS = {"A": 0.5, "B": 1.5}
ROWS = {"A": 200, "B": 140}
TEST_ROWS = 60
#: Each group's training pool: its rows less its test rows.
POOLS = {g: n - TEST_ROWS for g, n in ROWS.items()}
SMALL = dict(strategies=("adaptive", "equal", "proportional", "oracle"),
             utilities=("maximin",), budgets=(200.0,), pilot=40, replicates=2)


def r2_limit(sigma: float) -> float:
    signal = float(WEIGHTS @ WEIGHTS)
    return signal / (signal + sigma**2)


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    rng = np.random.default_rng(7)
    parts = []
    for group, n in ROWS.items():
        X = rng.normal(size=(n, len(WEIGHTS)))
        y = X @ WEIGHTS + rng.normal(scale=SIGMAS[group], size=n)
        parts.append(pd.DataFrame(X, columns=[f"x{i}" for i in range(len(WEIGHTS))])
                     .assign(site=group, outcome=y))
    path = tmp_path_factory.mktemp("pool") / "pool.csv"
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path


def config_of(table: Path, **overrides) -> BenchConfig:
    settings = {**SMALL, **overrides}
    return pool_config(table, target="outcome", group="site", model="ridge",
                       test_size=TEST_ROWS, **settings)


def test_a_pool_benchmark_runs_resumes_and_computes_only_the_missing_replicate(table, tmp_path):
    first = run_benchmark(config_of(table), tmp_path, workers=1)
    assert first.config.groups == ("A", "B") and first.reused == 0
    assert np.allclose(first.config.shares, [200 / 340, 140 / 340])
    assert len(first.results) == 2 * 4 * 2  # replicates x strategies x groups
    assert set(first.summary_table["strategy"]) == set(SMALL["strategies"])
    assert (tmp_path / "summary.csv").is_file() and (tmp_path / "comparisons.csv").is_file()
    stamp = json.loads((tmp_path / "config.json").read_text())
    assert stamp["config"]["cohort"]["data"] == str(table)  # a resumed run reads the same file
    written = (tmp_path / "replicates" / "replicate-0000.parquet").stat().st_mtime_ns

    more = run_benchmark(config_of(table, replicates=3), tmp_path, workers=1)
    assert more.reused == 2 and sorted(more.results["replicate"].unique()) == [0, 1, 2]
    assert (tmp_path / "replicates" / "replicate-0000.parquet").stat().st_mtime_ns == written
    again = more.results[more.results["replicate"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, first.results)


def test_the_default_strategies_are_the_recommended_one_plain_adaptive_and_the_baselines(
    table,
):
    config = config_of(table, strategies=None)
    assert config.strategies == ("expected", "adaptive", "equal", "proportional", "oracle")


def test_every_final_allocation_stays_within_each_groups_pool(table):
    # 260 buys 86 of each at costs 1 and 2, more than B's 80: equal is held back by B's pool.
    config = config_of(table, budgets=(260.0,), strategies=("adaptive", "equal", "oracle"))
    results, _ = run_replicate(config, 0)
    pools = results["group"].map(POOLS)
    assert (results["total"] <= pools).all()
    equal = results[results["strategy"] == "equal"].set_index("group")["total"]
    assert equal["B"] == POOLS["B"] and POOLS["B"] < equal["A"] < POOLS["A"]
    assert (results.groupby("strategy")["spent"].sum() <= 260.0 + 1e-9).all()


def test_a_small_budget_still_trains_every_group_on_its_smallest_measured_size(table):
    # At 60 (costs 1 and 2) the oracle's curves would give A two samples, too few to train
    # on: every group gets at least 10, so every strategy has a score in every group.
    config = config_of(table, budgets=(60.0,), pilot=None,
                       strategies=("adaptive", "equal", "oracle"))
    results, _ = run_replicate(config, 0)
    assert (results["total"] >= 10).all() and results["value"].notna().all()
    with pytest.raises(InputError, match="budgets must be at least 30"):
        config_of(table, budgets=(29.0,), pilot=5)


def test_the_scores_are_the_groups_known_r2_on_held_out_rows(table):
    # 300 buys both whole pools (140 + 2 x 80): every strategy trains on all of them.
    results, _ = run_replicate(config_of(table, budgets=(300.0,)), 0)
    assert (results["total"] == results["group"].map(POOLS)).all()
    equal = results[results["strategy"] == "equal"].set_index("group")["value"]
    # 30 held-out rows per group: the sampling error of R^2 is about 0.03 for A, 0.12 for B.
    assert abs(equal["A"] - r2_limit(SIGMAS["A"])) < 0.08
    assert abs(equal["B"] - r2_limit(SIGMAS["B"])) < 0.25
    assert equal["A"] > equal["B"]


def test_same_seed_same_numbers_and_each_replicate_a_new_split(table):
    config = config_of(table)
    once, paths = run_replicate(config, 0)
    twice, paths_again = run_replicate(config, 0)
    pd.testing.assert_frame_equal(once, twice)
    pd.testing.assert_frame_equal(paths, paths_again)
    other, _ = run_replicate(config, 1)
    assert not np.allclose(once["value"], other["value"])


def test_an_unknown_or_missing_pool_setting_is_refused(table):
    settings = {"data": str(table), "target": "outcome", "group": "site"}
    with pytest.raises(InputError, match=r"unknown pool setting 'modle' \(did you mean 'model'"):
        BenchConfig(source="pool", groups=("A", "B"), cohort={**settings, "modle": "ridge"})
    with pytest.raises(InputError, match="needs the setting.s. target"):
        BenchConfig(source="pool", groups=("A", "B"), cohort={"data": str(table), "group": "g"})
    with pytest.raises(InputError, match="group.s. C have no row"):
        BenchConfig(source="pool", groups=("A", "C"), cohort=settings)
    with pytest.raises(InputError, match="pool needs 10 rows besides its test rows; B 5: give"):
        pool_config(table, target="outcome", group="site", test_size=135, budgets=(100.0,))


def test_the_command_writes_the_summary_and_refuses_a_missing_column(table, tmp_path, capsys):
    out = tmp_path / "out"
    base = ["bench", "--pool", str(table), "--target", "outcome", "--group", "site", "--model",
            "ridge", "--test-size", str(TEST_ROWS), "--replicates", "2", "--utility", "maximin",
            "--budgets", "200", "--strategies", "adaptive,equal,proportional,oracle",
            "--no-plot", "--workers", "1"]  # fmt: skip
    assert main([*base, "--out", str(out)]) == 0
    assert "Benchmark 'pool'" in capsys.readouterr().out
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["strategy"]) == ["adaptive", "equal", "proportional", "oracle"]
    assert {"value_A", "value_B"} <= set(summary.columns)

    missing = tmp_path / "missing"
    code = main([*base, "--out", str(missing), "--group", "region"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "no group column 'region'" in err
    assert not missing.exists()
    code = main(["bench", "--pool", str(table), "--target", "outcome", "--out", str(missing)])
    err = capsys.readouterr().err
    assert code == 2 and "--pool needs --target COLUMN and --group COLUMN" in err
    assert not missing.exists()
    code = main([*base, "--out", str(missing), "--preset", "quick"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "give --preset or --pool, not both" in err
    assert not missing.exists()


def test_the_table_is_read_once_while_unchanged_and_again_once_it_changes(table, tmp_path):
    copy = tmp_path / "pilot.csv"
    copy.write_bytes(table.read_bytes())
    world = PoolWorld(data=str(copy), target="outcome", group="site", model="ridge")
    first = world.read()
    assert world.read() is first  # the checks and every replicate share one read
    edited = pd.read_csv(copy)
    edited.loc[0, "outcome"] += 1.0
    edited.to_csv(copy, index=False)  # another size or modification time: read again
    again = world.read()
    assert again is not first
    assert again.y.iloc[0] == pytest.approx(first.y.iloc[0] + 1.0)
