"""The benchmark machinery on the fast synthetic source: outputs, resume, dask, refusals."""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from allocate.cli import main
from allocate.errors import InputError
from allocate.study import Study
from simulate.benchmark import RECOMMENDED, _replicate_seed, preset_config, run_benchmark
from simulate.prs import ScoreTrainer
from simulate.source import genomic_source_for_benchmark

SMALL = dict(
    strategies=("adaptive", "equal", "proportional", "oracle"),
    utilities=("maximin",),
    budgets=(1500.0,),
    replicates=3,
)
FAIRALLOC = [sys.executable, "-c", "import sys; from allocate.cli import main; sys.exit(main())"]


def test_a_benchmark_writes_tidy_results_and_summaries(tmp_path):
    config = preset_config("synthetic", **SMALL)
    result = run_benchmark(config, tmp_path, workers=1)
    assert len(result.results) == 3 * 4 * 2  # replicates x strategies x groups
    assert set(result.results["strategy"]) == set(SMALL["strategies"])
    # Regret is the oracle's objective in the same replicate minus the strategy's (a score:
    # higher is better), from the per-replicate objectives.
    runs = result.results.drop_duplicates(["replicate", "strategy"])
    best = runs[runs["strategy"] == "oracle"].set_index("replicate")["objective"]
    np.testing.assert_allclose(runs["regret"], best[runs["replicate"]].values - runs["objective"])
    assert (result.results.groupby(["replicate", "strategy"])["spent"].sum() <= 1500.0).all()
    assert set(result.comparisons["other"]) == {"equal", "proportional"}
    assert set(result.comparisons["reference"]) == {"adaptive"} == {result.reference}
    for name in ("results.csv", "results.parquet", "summary.csv", "comparisons.csv", "paths.csv"):
        assert (tmp_path / name).exists()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "results.parquet"), result.results)


def test_the_recommended_strategy_is_the_reference_of_the_comparisons_when_run(tmp_path):
    config = preset_config("synthetic", **{**SMALL, "strategies": ("adaptive", "expected",
                                                                    "equal", "oracle")})
    result = run_benchmark(config, tmp_path, workers=1)
    assert RECOMMENDED == "expected" == result.reference
    comparisons = result.comparisons.set_index("other")
    assert set(comparisons.index) == {"adaptive", "equal"}
    assert set(comparisons["reference"]) == {"expected"}
    # Each difference is the mean over replicates of the other's regret less expected's.
    regret = result.results.drop_duplicates(["replicate", "strategy"]).pivot(
        index="replicate", columns="strategy", values="regret")
    for other in ("adaptive", "equal"):
        mean = (regret[other] - regret["expected"]).mean()
        assert comparisons.loc[other, "difference"] == pytest.approx(mean, abs=1e-12)
    assert "The expected strategy against each other (paired" in result.summary()
    written = pd.read_csv(tmp_path / "comparisons.csv")
    assert set(written["reference"]) == {"expected"}


def test_the_recommended_strategy_is_the_study_default_and_first_in_the_quick_preset():
    assert inspect.signature(Study.create).parameters["strategy"].default == RECOMMENDED
    assert preset_config("quick").strategies[0] == RECOMMENDED
    assert "adaptive" in preset_config("quick").strategies


def test_the_command_names_the_reference_of_its_comparisons(capsys, tmp_path):
    code = main(["bench", "--preset", "synthetic", "--out", str(tmp_path / "out"),
                 "--replicates", "2", "--budgets", "1500", "--utility", "maximin",
                 "--strategies", "expected,adaptive,oracle", "--no-plot", "--workers", "1"])
    out = " ".join(capsys.readouterr().out.split())  # a title wraps to its table's width
    assert code == 0
    assert "expected against each strategy: regret saved (paired t, Holm)" in out


def test_same_seed_same_numbers_and_a_rerun_computes_nothing(tmp_path):
    config = preset_config("synthetic", **SMALL)
    first = run_benchmark(config, tmp_path / "a", workers=1)
    again = run_benchmark(config, tmp_path / "a", workers=1)
    fresh = run_benchmark(config, tmp_path / "b", workers=2)
    assert again.reused == 3 and first.reused == 0
    pd.testing.assert_frame_equal(first.results, again.results)
    pd.testing.assert_frame_equal(first.results, fresh.results)


@pytest.mark.parametrize("workers", [1, 2])
def test_every_strategy_run_is_reported_as_it_finishes(tmp_path, workers):
    config = preset_config("synthetic", **SMALL)
    steps = []
    run_benchmark(config, tmp_path, workers=workers, on_step=lambda: steps.append(1))
    assert len(steps) == 3 * 4  # replicates x strategies (one setting)
    steps.clear()
    run_benchmark(config, tmp_path, workers=workers, on_step=lambda: steps.append(1))
    assert steps == []  # nothing left to compute


def test_a_killed_run_resumes_and_matches_an_uninterrupted_one(tmp_path):
    args = ["bench", "--preset", "synthetic", "--strategies", "adaptive,equal,oracle",
            "--utility", "maximin", "--budgets", "1500", "--replicates", "4", "--workers", "1",
            "--no-plot"]  # fmt: skip
    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen([*FAIRALLOC, *args, "--out", str(interrupted)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list((interrupted / "replicates").glob("replicate-*.parquet")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list((interrupted / "replicates").glob("replicate-*.parquet")))
    assert 1 <= done_before < 4
    resumed = subprocess.run([*FAIRALLOC, *args, "--out", str(interrupted)],
                             capture_output=True, text=True, check=True)  # fmt: skip
    assert f"resuming: {done_before} of 4 replicates already" in resumed.stderr
    whole = tmp_path / "whole"
    subprocess.run([*FAIRALLOC, *args, "--out", str(whole)], capture_output=True, check=True)
    pd.testing.assert_frame_equal(
        pd.read_parquet(interrupted / "results.parquet"), pd.read_parquet(whole / "results.parquet")
    )


def test_the_dask_executor_gives_the_local_numbers(tmp_path):
    distributed = pytest.importorskip("distributed")
    config = preset_config("synthetic", **{**SMALL, "replicates": 2})
    local = run_benchmark(config, tmp_path / "local", workers=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:  # fmt: skip
        with distributed.Client(cluster) as client:
            remote = run_benchmark(config, tmp_path / "dask", executor="dask", scheduler=client)
    pd.testing.assert_frame_equal(local.results, remote.results)


def test_a_folder_from_an_earlier_version_is_refused_as_such(tmp_path):
    config = preset_config("synthetic", **{**SMALL, "replicates": 1})
    run_benchmark(config, tmp_path, workers=1)
    stamp = json.loads((tmp_path / "config.json").read_text())
    del stamp["config"]["held_out_test"]  # as written before the field existed
    stamp["key"] = "0" * 16
    (tmp_path / "config.json").write_text(json.dumps(stamp))
    with pytest.raises(InputError, match="an earlier version of the benchmark"):
        run_benchmark(config, tmp_path, workers=1)


def test_another_configuration_cannot_reuse_a_folder(tmp_path):
    run_benchmark(preset_config("synthetic", **{**SMALL, "replicates": 1}), tmp_path, workers=1)
    other = preset_config("synthetic", **{**SMALL, "replicates": 1, "seed": 99})
    with pytest.raises(InputError, match="another benchmark configuration; give run_benchmark"
                       " a new out folder, or the same config as before"):
        run_benchmark(other, tmp_path, workers=1)


@pytest.mark.parametrize(
    ("settings", "arguments", "message"),
    [
        ({"budgets": (10.0,)}, {}, "below the pilot's cost 24; raise budgets or lower pilot"),
        ({}, {"executor": "dask"}, "executor='dask' needs scheduler, the address"),
    ],
)
def test_the_library_names_its_parameters_not_options(tmp_path, settings, arguments, message):
    with pytest.raises(InputError) as refusal:
        run_benchmark(preset_config("synthetic", **{**SMALL, **settings}), tmp_path / "out",
                      **arguments)  # fmt: skip
    assert message in str(refusal.value) and "--" not in str(refusal.value)
    assert not (tmp_path / "out").exists()


def test_a_folder_of_another_run_is_refused_with_the_out_option(capsys, tmp_path):
    stamp = tmp_path / "out" / "config.json"
    stamp.parent.mkdir()
    stamp.write_text(json.dumps({"schema_version": 0, "key": "0" * 16, "config": {}}))
    code = main(["bench", "--preset", "synthetic", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.rstrip().endswith("configured differently; give a new --out folder")
    assert os.listdir(tmp_path / "out") == ["config.json"]
    assert json.loads(stamp.read_text())["key"] == "0" * 16


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategies", "adaptive,greedy"], "unknown strategy greedy"),
        (["--budgets", "10"], "below the pilot's cost 24; raise --budgets"),
        (["--cost-ratio", "0"], "cost ratios must be > 0"),
        (["--cost-ratio", "two"], "comma-separated list of numbers"),
        (["--utility", "leximin"], "unknown utility leximin"),
        (["--executor", "dask"], "--executor dask needs --scheduler ADDRESS"),
        (["--replicates", "0"], "replicates must be >= 1"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, tmp_path, args, message):
    code = main(["bench", "--preset", "synthetic", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1
    assert not Path(tmp_path / "out").exists()


def test_a_genomic_replicate_trains_scores_on_every_allocation(tmp_path):
    config = preset_config(
        "quick",
        strategies=("adaptive", "equal", "oracle"),
        budgets=(300.0,),
        pilot=30,
        replicates=1,
        cohort={"preset": "quick", "n_per_group": 500, "chromosomes": 1,
                "fractions": (1 / 3, 2 / 3, 1.0)},
    )  # fmt: skip
    result = run_benchmark(config, tmp_path, workers=1)
    table = result.results
    assert set(table["strategy"]) == {"adaptive", "equal", "oracle"}
    # Each value is the R^2 on the held-out test people of a score trained afresh on the
    # group's first `total` pool samples (the replicate's own cohort and split seeds).
    source, _, _ = genomic_source_for_benchmark(
        config.cohort, groups=config.groups, seed=_replicate_seed(config, 0, "cohort"),
        split_seed=_replicate_seed(config, 0, "split"), held_out_test=True,
        cache_dir=tmp_path / "cache",
    )  # fmt: skip
    final = source.final
    for row in table.itertuples():
        trainer = ScoreTrainer(final.cohort, final.phenotype, final.split, mode="own")
        test = final.split.test[row.group]
        value = trainer.fit({row.group: row.total}).score(final.cohort, test)
        r2 = np.corrcoef(value, final.phenotype.values[test])[0, 1] ** 2
        assert row.value == pytest.approx(r2, rel=1e-9)
    assert (table.groupby("strategy")["spent"].sum() <= 300.0).all()
    equal = table[table["strategy"] == "equal"].set_index("group")["total"]
    assert equal["CEU"] == equal["YRI"] == 100  # equal counts at costs 1 and 2: 100 each
    assert list((tmp_path / "cache").iterdir())  # the cohort was cached for later replicates
    # Results are scored on held-out test people: reporting the last measurements instead
    # gives the same allocations other values.
    measured = run_benchmark(replace(config, held_out_test=False), tmp_path / "b", workers=1)
    same = measured.results.set_index(["strategy", "group"]).loc[table.set_index(
        ["strategy", "group"]).index]  # fmt: skip
    assert (same["total"].to_numpy() == table["total"].to_numpy())[table.strategy == "equal"].all()
    assert not np.allclose(same["value"].to_numpy(), table["value"].to_numpy())


def test_the_command_can_score_on_the_measured_people(capsys, tmp_path):
    out = tmp_path / "out"
    code = main(["bench", "--preset", "synthetic", "--out", str(out), "--replicates", "1",
                 "--budgets", "1000", "--strategies", "equal,oracle", "--no-plot", "--workers",
                 "1", "--no-held-out-test"])  # fmt: skip
    capsys.readouterr()
    assert code == 0
    assert json.loads((out / "config.json").read_text())["config"]["held_out_test"] is False
