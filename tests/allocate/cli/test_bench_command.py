"""``fairalloc bench``: the options that reach a simulated world, and their refusals.

The benchmark's runs, resumes and other refusals are tested with the library in
``tests/simulate/test_benchmark.py`` and ``test_benchmark_pool.py``.
"""

from __future__ import annotations

import json
import os

import pytest
import typer.rich_utils

import simulate.world
from simulate.benchmark import PRESETS, preset_config
from tests.allocate.cli.running import option_help, run


class _Stopped(Exception):
    """Raised where a test has seen what it needs of a run, before any cohort is simulated."""


@pytest.fixture
def worlds(monkeypatch) -> list:
    """The configuration of every world the benchmark asks to build; the first stops the run
    (a preset's cohort takes minutes to simulate)."""
    built = []

    def record(config, **_):
        built.append(config)
        raise _Stopped

    monkeypatch.setattr(simulate.world, "build_world", record)
    return built


def test_ld_haplotype_reaches_the_simulated_world_and_a_change_is_refused(
    capsys, tmp_path, worlds
):
    out = tmp_path / "out"
    with pytest.raises(_Stopped):
        run(capsys, "bench", "--preset", "quick", "--ld", "haplotype", "--out", out,
            "--workers", 1, "--no-plot")  # fmt: skip
    capsys.readouterr()
    # The configuration a library user writes for the same run: the preset's cohort with ld.
    expected = preset_config("quick", cohort={**PRESETS["quick"]["cohort"], "ld": "haplotype"})
    stamp = json.loads((out / "config.json").read_text())
    assert stamp["key"] == expected.key() != preset_config("quick").key()
    assert stamp["config"]["cohort"]["simulation"]["ld"] == "haplotype"
    (world,) = worlds
    assert world.trainer_options()["ld"] == "haplotype"  # what the world's trainers are given
    assert world.p_threshold == 0.01 and world.n_per_group == 15000  # the rest is the preset's
    # Another LD measure into the same folder is another benchmark: refused, the folder kept.
    for other in (["--ld", "dosage"], []):
        code, _, err = run(capsys, "bench", "--preset", "quick", *other, "--out", out,
                           "--workers", 1, "--no-plot")  # fmt: skip
        assert code == 2 and err.count("\n") == 1
        assert err.rstrip().endswith("another benchmark configuration; give a new --out "
                                     "folder, or the same options as before")  # fmt: skip
        assert json.loads((out / "config.json").read_text()) == stamp
    assert len(worlds) == 1 and sorted(os.listdir(out)) == ["config.json"]


def test_the_default_is_the_dosage_r2(capsys, tmp_path, worlds):
    out = tmp_path / "out"
    with pytest.raises(_Stopped):
        run(capsys, "bench", "--preset", "quick", "--out", out, "--workers", 1, "--no-plot")
    stamp = json.loads((out / "config.json").read_text())
    assert stamp["key"] == preset_config("quick").key()
    assert stamp["config"]["cohort"]["simulation"]["ld"] == "dosage"
    assert "ld" not in worlds[0].trainer_options()  # the trainer's own default: dosage


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--pool", "TABLE", "--target", "y", "--group", "site", "--ld", "haplotype"],
         "--ld chooses clumping's LD in simulated genomes; a --pool table has no genotypes"),
        (["--pool", "TABLE", "--target", "y", "--group", "site", "--ld", "dosage"],
         "a --pool table has no genotypes"),
        (["--preset", "synthetic", "--ld", "haplotype"],
         "the synthetic preset trains no polygenic score"),
        (["--preset", "quick", "--ld", "phased"], "Invalid value for '--ld'"),
    ],
)  # fmt: skip
def test_ld_without_simulated_genomes_is_refused_in_one_line(
    capsys, tmp_path, worlds, arguments, message
):
    table = tmp_path / "table.csv"
    table.write_text("y,site,x\n" + "".join(f"{i % 2},{'ab'[i % 3 == 0]},{i}\n"
                                            for i in range(60)))  # fmt: skip
    out = tmp_path / "out"
    arguments = [table if a == "TABLE" else a for a in arguments]
    code, _, err = run(capsys, "bench", *arguments, "--out", out, "--no-plot")
    assert code == 2 and err.startswith("error:") and message in err and err.count("\n") == 1
    assert not out.exists() and worlds == []


def test_the_ld_option_says_what_each_value_means_and_where_it_applies(capsys, monkeypatch):
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 200)  # the type column unwrapped
    code, out, _ = run(capsys, "bench", "--help")
    line = option_help(out, "--ld")
    assert code == 0 and "<dosage|haplotype>" in line
    assert "dosage (the default): the r^2 of unphased genotype dosages" in line
    assert "every published benchmark figure used" in line
    assert "haplotype: the true-phase haplotype r^2" in line
    assert "Genomic presets (quick, paper) only" in line
