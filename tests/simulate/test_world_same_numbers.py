"""The same seed gives the same simulated world and the same measurements as before the
simulation settings were typed and world building was made one function.

Every expected number below was produced by commit 607c0f8 (``BenchConfig.cohort`` a plain
dictionary, worlds built separately by ``simulate/pipeline.py`` and ``simulate/source.py``) with
the calls repeated here. The measurements are compared to a relative 1e-7: a fresh install of
the numeric libraries on 2026-12-02 (numpy 2.4.6, scipy 1.17.1) moved them by up to 7e-9 with
the same code; the sizes, pools and discrete choices are exact.
"""

from __future__ import annotations

import pytest

from simulate.pipeline import run_simulation, simulation_config
from simulate.source import genomic_source_for_benchmark

WORLD = dict(preset="quick", n_per_group=300, chromosomes=2, chromosome_length=3e5, causal=20,
             reference=40)  # fmt: skip
COUNTS = {"CEU": 120, "YRI": 90}
N = [30.0, 22.0, 60.0, 45.0, 90.0, 67.0, 120.0, 90.0]  # CEU, YRI at each quarter of COUNTS
HELD_OUT = [0.2027023648778252, 0.1574954428638279, 0.2282102604776443, 0.2566834977348651,
            0.2282102604776443, 0.24941790005230366, 0.38048159324560366, 0.30779940203053036]
POOLED = [0.06313529472074618, 0.14706663055752928, 0.5855513480089242, 0.24423654536919512,
          0.5910082953973849, 0.3240617665189906, 0.5966585776172201, 0.30705352765137156]
PORTABILITY_R2 = [0.1721037172573192, 0.029118859082094332, 0.04053752233472289,
                  0.22543520081000523, 0.01656636491087714, 0.07234256885262244,
                  0.188329687561915, 0.005448462965616191, 0.002240903837769302]  # fmt: skip


def test_a_benchmark_world_measures_what_it_measured_before():
    source, pools, _ = genomic_source_for_benchmark(
        WORLD, groups=("CEU", "YRI"), seed=2, split_seed=5, held_out_test=True
    )
    assert pools == {"CEU": 185, "YRI": 185}
    table = source.measure(COUNTS, seed=3)
    assert table["group"].tolist() == ["CEU", "YRI"] * 4 and table["n"].tolist() == N
    assert table["value"].tolist() == pytest.approx(HELD_OUT, rel=1e-7)


def test_a_pooled_benchmark_world_measures_what_it_measured_before():
    source, _, _ = genomic_source_for_benchmark(
        {**WORLD, "metric": "r2_genetic"}, groups=("CEU", "YRI"), training="pooled", seed=4
    )
    table = source.measure(COUNTS, seed=3)
    assert table["n"].tolist() == N
    assert table["value"].tolist() == pytest.approx(POOLED, rel=1e-7)


def test_a_simulation_run_scores_what_it_scored_before():
    config = simulation_config("quick", n_per_group=300, chromosomes=2, chromosome_length=3e5,
                               causal=20, prevalence=0.1)  # fmt: skip
    assert config.reference == 60
    report = run_simulation(config)
    table = report.to_frame()
    assert table["trained_on"].tolist() == ["CEU"] * 3 + ["YRI"] * 3 + ["CHB"] * 3
    assert table["r2"].tolist() == pytest.approx(PORTABILITY_R2, rel=1e-7)
