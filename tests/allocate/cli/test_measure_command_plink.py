"""`fairalloc measure-plink` end to end on an exported cohort: points `fit` reads, errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from allocate.points import read_points
from simulate.export import individual_names, write_plink
from simulate.phenotype import simulate_phenotype
from tests.allocate.cli.running import run


@pytest.fixture(scope="module")
def files(small_cohort, tmp_path_factory):
    """The small cohort with a binary trait in its .fam, a quantitative one in a table, a
    groups table, a copy whose .fam holds controls only and one with no phenotype."""
    folder = tmp_path_factory.mktemp("cli")
    binary = simulate_phenotype(small_cohort, h2=0.8, causal=10, prevalence=0.4, seed=3)
    quantitative = simulate_phenotype(small_cohort, h2=0.8, causal=10, seed=3)
    write_plink(small_cohort, folder / "pilot", phenotype=binary.values)
    write_plink(small_cohort, folder / "controls", phenotype=np.zeros(binary.values.size),
                binary=True)  # fmt: skip
    write_plink(small_cohort, folder / "genotypes")  # no phenotype in the .fam
    names = individual_names(small_cohort, np.arange(small_cohort.num_individuals))
    pairs = list(zip(names, small_cohort.group, strict=True))
    (folder / "groups.txt").write_text("IID\tsite\n" + "".join(f"{n}\t{g}\n" for n, g in pairs))
    (folder / "height.txt").write_text("#FID IID height weight\n" + "".join(
        f"{n} {n} {v:.6f} 1\n" for n, v in zip(names, quantitative.values, strict=True)
    ))  # fmt: skip
    (folder / "no_iid.txt").write_text("ID site\n" + "".join(f"{n} {g}\n" for n, g in pairs))
    (folder / "strangers.txt").write_text("IID site\nX1 CEU\nX2 YRI\n")
    (folder / "text.txt").write_text("IID height\n" + "".join(f"{n} tall\n" for n, _ in pairs))
    return folder


def test_measure_plink_writes_points_that_fit_reads(capsys, files, tmp_path):
    points = tmp_path / "points.csv"
    code, out, err = run(capsys, "measure-plink", files / "pilot", "--groups",
                         files / "groups.txt", "--group-column", "site", "--pheno",
                         files / "height.txt", "--pheno-column", "height", "--sizes",
                         "20,40,80,160", "--replicates", 2, "--reference", 40, "-o", points)
    assert code == 0, err
    assert "r2 (score), polygenic score, own training" in out and "--sense score" in out
    frame = read_points(points)
    assert set(frame["group"]) == {"CEU", "YRI", "CHB"} and len(frame) == 3 * 4 * 2
    assert frame["value"].between(0, 1).all()
    curves = tmp_path / "curves.toml"
    code, out, err = run(capsys, "fit", points, "--sense", "score", "--score-max", 1, "-o",
                         curves)  # fmt: skip
    assert code == 0, err
    assert curves.is_file()


def test_a_binary_fam_phenotype_is_measured_by_auc_with_pooled_training(capsys, files,
                                                                         tmp_path):  # fmt: skip
    points = tmp_path / "points.csv"
    code, out, err = run(capsys, "measure-plink", files / "pilot", "--groups",
                         files / "groups.txt", "--group-column", "site", "--fractions",
                         "0.25,0.5,1", "--training", "pooled", "--replicates", 1,
                         "--reference", 40, "-o", points)  # fmt: skip
    assert code == 0, err
    assert "auc (score), polygenic score, pooled training" in out
    frame = read_points(points)
    assert (frame["n_total"] > frame["n"]).all() and frame["value"].between(0, 1).all()


def test_trait_quantitative_reads_the_fams_1_and_2_as_numbers(capsys, files, tmp_path):
    points = tmp_path / "points.csv"
    code, out, err = run(capsys, "measure-plink", files / "pilot", "--groups",
                         files / "groups.txt", "--group-column", "site", "--trait",
                         "quantitative", "--sizes", "20,40", "--replicates", 1, "--reference",
                         40, "-o", points)  # fmt: skip
    assert code == 0, err
    assert "r2 (score)" in out and len(read_points(points)) == 3 * 2


def test_ld_dosage_is_the_default(capsys, files, tmp_path):
    arguments = ["measure-plink", files / "pilot", "--groups", files / "groups.txt",
                 "--group-column", "site", "--trait", "quantitative", "--sizes", "20,40",
                 "--replicates", 1, "--reference", 40]  # fmt: skip
    for name, ld in (("default.csv", []), ("dosage.csv", ["--ld", "dosage"])):
        code, _, err = run(capsys, *arguments, *ld, "-o", tmp_path / name)
        assert code == 0, err
    assert (tmp_path / "default.csv").read_text() == (tmp_path / "dosage.csv").read_text()


GROUPS = ["--groups", "groups.txt", "--group-column", "site"]
HEIGHT = ["--pheno", "height.txt", "--pheno-column", "height"]
BAD_INPUT = [
    (["pilot", "--groups", "groups.txt"], "groups file has no column 'group'"),
    (["pilot", "--groups", "no_iid.txt", "--group-column", "site"], "has no IID column"),
    (["pilot", "--groups", "strangers.txt", "--group-column", "site"], "no individual of"),
    (["missing", *GROUPS], "no file"),
    (["pilot", *GROUPS, "--pheno", "height.txt"], "give --pheno-column"),
    (["pilot", *GROUPS, "--pheno-column", "height"], "give --pheno too"),
    (["pilot", *GROUPS, "--pheno", "height.txt", "--pheno-column", "bmi"], "no column 'bmi'"),
    (["pilot", *GROUPS, "--pheno", "text.txt"], "must be a number; found 'tall'"),
    (["pilot", *GROUPS, *HEIGHT, "--sizes", "20,300"], "fewer than the largest size asked"),
    (["pilot", *GROUPS, "--sizes", "20,200"], "half-case training sets reach at most"),
    (["pilot", *GROUPS, *HEIGHT, "--sizes", "5,20"], "under 10"),
    (["controls", *GROUPS], "single class"),
    (["genotypes", *GROUPS], "sixth column holds no phenotype (every value is missing"),
    (["pilot", *GROUPS, *HEIGHT, "--metric", "auc"], "needs a binary"),
    (["pilot", *GROUPS, *HEIGHT, "--trait", "binary"], "a binary phenotype is coded 1"),
    (["pilot", *GROUPS, "--metric", "acu"], "did you mean 'auc'"),
    (["pilot", *GROUPS, "--reference", 5], "--reference must be"),
    (["pilot", *GROUPS, "--test-size", 0], "--test-size must be"),
    (["pilot", *GROUPS, "--sizes", "20", "--fractions", "1"], "not both"),
    (["pilot", *GROUPS, "--ld", "haplotype"],
     "--ld haplotype needs true phase, and PLINK 1 genotypes are unphased; clump with --ld "
     "dosage"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_INPUT)
def test_bad_input_is_one_line_exit_2_and_nothing_written(capsys, files, tmp_path, arguments,
                                                          message):  # fmt: skip
    output = tmp_path / "points.csv"
    placed = [files / a if a in ("pilot", "controls", "genotypes", "missing")
              or str(a).endswith(".txt")
              else a for a in arguments]  # fmt: skip
    code, out, err = run(capsys, "measure-plink", *placed, "-o", output)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not output.exists() and not list(tmp_path.iterdir())


def test_the_output_must_be_a_csv(capsys, files, tmp_path):
    code, _, err = run(capsys, "measure-plink", files / "pilot", *GROUPS[:1],
                       files / "groups.txt", "-o", tmp_path / "points.txt")  # fmt: skip
    assert code == 2 and "--output must end in .csv" in err and not list(tmp_path.iterdir())


def test_the_getting_started_commands_run_as_written(tmp_path):
    root = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").is_file())
    page = (root / "docs" / "start.md").read_text()  # wherever the suite's layout puts this file
    section = page[page.index("### From a PLINK cohort"):page.index("## Collecting in rounds")]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    assert "fairalloc measure-plink" in block and "fairalloc fit points.csv" in block
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    done = subprocess.run(["bash", "-e", "-c", block], cwd=tmp_path, capture_output=True,
                          text=True, env={**os.environ, "PATH": path}, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(read_points(tmp_path / "points.csv")) == 3 * 4 * 3
    assert "objective (maximin score)" in done.stdout
