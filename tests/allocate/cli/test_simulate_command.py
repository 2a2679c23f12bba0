"""``fairalloc simulate``: tables or JSON, exports, and one-line refusals that write nothing."""

from __future__ import annotations

import importlib.metadata
import json

import numpy as np
import pandas as pd
import pytest
import typer.rich_utils

from allocate.cli import main
from simulate.cohort import simulate_cohort
from simulate.phenotype import simulate_phenotype
from simulate.pipeline import simulation_config
from simulate.prs import ScoreTrainer, split_cohort
from tests.allocate.cli.running import option_help

TINY = [
    "simulate", "--groups", "CEU,YRI", "--n-per-group", "150", "--chromosomes", "2",
    "--chromosome-length", "200000", "--causal", "10", "--seed", "3",
]  # fmt: skip


def _tiny_world(cache):
    """The cohort, trait and split of ``TINY``, built from the library's own parts."""
    config = simulation_config("quick", groups=("CEU", "YRI"), n_per_group=150, chromosomes=2,
                               chromosome_length=200000, causal=10, seed=3)  # fmt: skip
    cohort = simulate_cohort(
        config.groups, n_per_group=150, chromosomes=2, chromosome_length=200000,
        maf=config.maf, seed=3, cache_dir=cache,
    )  # fmt: skip
    trait = simulate_phenotype(cohort, h2=config.h2, causal=10, seed=3)
    split = split_cohort(cohort, reference=config.reference, test_fraction=config.test_fraction,
                         seed=3)  # fmt: skip
    return cohort, trait, split


def test_json_report_has_variants_per_group_and_the_portability_table(tmp_path, capsys):
    code = main([*TINY, "--cache-dir", str(tmp_path / "cache"), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    above = report["cohort"]["variants_above_maf"]
    assert set(above) == {"CEU", "YRI", "pooled"} and above["YRI"] > above["CEU"]
    rows = report["portability"]
    assert {(r["trained_on"], r["group"]) for r in rows} == {
        ("CEU", "CEU"), ("CEU", "YRI"), ("YRI", "CEU"), ("YRI", "YRI"),
    }  # fmt: skip
    # Each R^2: the squared correlation, in the test group, of a score trained afresh on the
    # whole training pool of the group it is trained on (the same cohort, trait and split).
    cohort, trait, split = _tiny_world(tmp_path / "cache")
    for row in rows:
        trained_on, test = row["trained_on"], split.test[row["group"]]
        trainer = ScoreTrainer(cohort, trait, split, mode="own")
        score = trainer.fit({trained_on: split.max_training(trained_on, trait)})
        r = np.corrcoef(score.score(cohort, test), trait.values[test])[0, 1]
        assert row["r2"] == pytest.approx(r**2, rel=1e-9) and row["n_test"] == test.size
    again = main([*TINY, "--cache-dir", str(tmp_path / "cache"), "--json"])
    assert again == 0 and json.loads(capsys.readouterr().out)["portability"] == rows


def test_ld_haplotype_clumps_on_the_true_phase_r2(tmp_path, capsys):
    out = tmp_path / "run"
    code = main([*TINY, "--cache-dir", str(tmp_path / "cache"), "--ld", "haplotype", "--out",
                 str(out), "--json"])  # fmt: skip
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["portability"]
    summary = json.loads((out / "summary.json").read_text())
    command = summary["command"]
    assert summary["config"]["ld"] == "haplotype"
    assert command[command.index("--ld") + 1] == "haplotype"
    # Each score is the library's trainer clumping on haplotype r^2 in the same world; on this
    # cohort clumping on dosage r^2 keeps other variants, so the option is not lost on the way.
    cohort, trait, split = _tiny_world(tmp_path / "cache")
    differs = []
    for row in rows:
        trained_on, test = row["trained_on"], split.test[row["group"]]
        counts = {trained_on: split.max_training(trained_on, trait)}
        haplotype = ScoreTrainer(cohort, trait, split, ld="haplotype").fit(counts)
        dosage = ScoreTrainer(cohort, trait, split, ld="dosage").fit(counts)
        r = np.corrcoef(haplotype.score(cohort, test), trait.values[test])[0, 1]
        assert row["r2"] == pytest.approx(r**2, rel=1e-9)
        assert (row["variants"], row["threshold"]) == (haplotype.variants.size,
                                                       haplotype.threshold)  # fmt: skip
        differs.append(not np.array_equal(haplotype.variants, dosage.variants))
    assert any(differs)


def test_the_ld_option_says_what_each_value_means(capsys, monkeypatch):
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 200)  # the type column unwrapped
    assert main(["simulate", "--help"]) == 0
    line = option_help(capsys.readouterr().out, "--ld")
    assert "<dosage|haplotype>" in line and "[default: dosage]" in line
    assert "dosage (the default): the r^2 of unphased genotype dosages" in line
    assert "every published benchmark figure used" in line
    assert "haplotype: the true-phase haplotype r^2" in line


def test_tables_and_exports_are_written(tmp_path, capsys):
    out = tmp_path / "run"
    code = main([*TINY, "--no-cache", "--prevalence", "0.2", "--out", str(out), "--plink",
                 "--method", "ldpred-inf"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "variants with MAF" in printed and "utility" in printed
    assert "Portability (ldpred-inf)" in printed
    assert (out / "portability.csv").is_file() and (out / "plink" / "cohort.bed").is_file()
    fam = (out / "plink" / "cohort.fam").read_text().splitlines()
    # PLINK's case/control coding: 2 case, 1 control (0/1 would read as missing/control).
    assert len(fam) == 300 and {line.split()[-1] for line in fam} == {"1", "2"}


def test_the_report_says_the_threshold_the_variants_and_intervals(tmp_path, capsys):
    out = tmp_path / "run"
    arguments = [*TINY, "--no-cache", "--prevalence", "0.2", "--p-threshold", "0.01", "--out",
                 str(out), "--no-vcf"]  # fmt: skip
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out / "portability.csv")
    assert (table["threshold"] == 0.01).all()
    for group in ("CEU", "YRI"):
        count = table.loc[table["trained_on"] == group, "variants"].iloc[0]
        assert f"score trained on {group}: {count:,} variant" in printed
        assert "(p <= 0.01)" in printed
    for metric in ("r2", "auc"):
        assert (table[f"{metric}_low"] <= table[metric]).all()
        assert (table[metric] <= table[f"{metric}_high"]).all()
    summary = json.loads((out / "summary.json").read_text())
    command = summary["command"]  # every option given, in the command's own order
    assert command[:2] == ["fairalloc", "simulate"]
    assert sorted(command) == sorted(["fairalloc", *arguments])
    assert summary["version"] == importlib.metadata.version("fairalloc")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--h2", "2", "--out", "OUT"], "h2 must be in (0, 1)"),
        (["--groups", "CEU,ABC", "--out", "OUT"], "groups must be some of"),
        (["--plink"], "--vcf or --plink needs --out DIR, the folder the files go in"),
        (["--rho", "-3", "--out", "OUT"], "rho must be in"),
        (["--p-threshold", "0", "--out", "OUT"], "--p-threshold must be in (0, 1]"),
        (["--n-per-group", "1", "--out", "OUT"], "--n-per-group must be a whole number >= 2"),
        (["--workers", "0", "--out", "OUT"], "Invalid value for '--workers'"),
        (["--ld", "phased", "--out", "OUT"], "Invalid value for '--ld'"),
        (["--ld", "haplotype", "--method", "ldpred-inf", "--out", "OUT"],
         "--ld haplotype is clumping's LD measure; give it with --method clumping"),
    ],
)
def test_bad_settings_are_refused_in_one_line_and_write_nothing(
    tmp_path, capsys, arguments, message
):
    out, cache = tmp_path / "run", tmp_path / "cache"
    arguments = [str(out) if a == "OUT" else a for a in arguments]
    code = main([*TINY, *arguments, "--cache-dir", str(cache)])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error:") and message in error and "\n" not in error
    assert not out.exists() and not cache.exists()


def test_an_out_that_is_a_file_is_refused_with_the_option(tmp_path, capsys):
    out, cache = tmp_path / "run.txt", tmp_path / "cache"
    out.write_text("kept")
    code = main([*TINY, "--out", str(out), "--cache-dir", str(cache)])
    error = capsys.readouterr().err
    assert code == 2 and error == f"error: the --out folder {str(out)!r} is a file; give a folder\n"
    assert out.read_text() == "kept" and not cache.exists()
