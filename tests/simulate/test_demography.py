"""The out-of-Africa demography equals stdpopsim's HomSap/OutOfAfrica_3G09."""

from __future__ import annotations

import numpy as np
import pytest

from simulate.demography import MUTATION_RATE, out_of_africa_3g09

stdpopsim = pytest.importorskip("stdpopsim")

PAIRS = [
    {"YRI": 2},
    {"CEU": 2},
    {"CHB": 2},
    {"YRI": 1, "CEU": 1},
    {"YRI": 1, "CHB": 1},
    {"CEU": 1, "CHB": 1},
]
# A fixed time grid (generations) fine where the events are, so both models are integrated alike.
STEPS = np.concatenate([np.linspace(0, 9000, 181), np.geomspace(9050, 3e5, 60)])


@pytest.fixture(scope="module")
def reference_model():
    return stdpopsim.get_species("HomSap").get_demographic_model("OutOfAfrica_3G09")


@pytest.mark.parametrize("lineages", PAIRS, ids=lambda pair: "-".join(pair))
def test_mean_coalescence_times_equal_stdpopsim(reference_model, lineages):
    ours = out_of_africa_3g09().debug().mean_coalescence_time(lineages, steps=STEPS)
    theirs = reference_model.model.debug().mean_coalescence_time(lineages, steps=STEPS)
    # A model error (e.g. migration into the bottleneck population before it exists) moves
    # these by 1-4%; equal models agree to the integration error of the shared grid.
    assert ours == pytest.approx(theirs, rel=1e-3)


def test_present_day_sizes_and_mutation_rate_equal_stdpopsim(reference_model):
    ours = out_of_africa_3g09()
    for name in ("YRI", "CEU", "CHB"):
        assert ours[name].initial_size == pytest.approx(reference_model.model[name].initial_size)
        assert ours[name].growth_rate == pytest.approx(reference_model.model[name].growth_rate)
    assert MUTATION_RATE == reference_model.mutation_rate
