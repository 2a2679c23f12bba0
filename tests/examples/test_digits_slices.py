"""examples/digits_slices.py runs end to end and its numbers hang together."""

from __future__ import annotations

import runpy

import numpy as np

from allocate.water_filling import water_filling_counts
from tests.paths import EXAMPLES

EXAMPLE = EXAMPLES / "digits_slices.py"


def test_the_digits_example_measures_fits_plans_and_replays(capsys):
    results = runpy.run_path(str(EXAMPLE), run_name="digits_example")["main"]()
    out = capsys.readouterr().out
    measured, fits, plans, replays = (results[k] for k in ("measured", "fits", "plans",
                                                           "replays"))
    digits = [str(d) for d in range(10)]
    assert measured.sense == "loss" and measured.training == "pooled"
    assert sorted(measured.points["group"].unique()) == digits
    assert (measured.points["n_total"] > measured.points["n"]).all()
    assert sorted(fits.groups) == digits
    costs = np.array([1.0] * 5 + [2.0] * 5)
    pools = np.array([results["source"].pools()[d] for d in digits])
    for name, result in plans.items():
        totals = result.totals
        assert costs @ (totals - 20) <= 900 + 1e-6 and list(result.names) == digits, name
        assert np.all(totals <= [measured.pools[d] for d in digits])
    for utility, replay in replays.items():
        table = replay.table
        assert set(table["strategy"]) == {"adaptive", "equal", "proportional",
                                          "water-filling", "oracle"}
        assert (table["spent"] <= 900 + 1e-6).all()
        water = table[table["strategy"] == "water-filling"].set_index("group")["total"]
        expected = 20 + water_filling_counts(np.full(10, 20), costs, 900.0, pools)
        assert [water[d] for d in digits] == expected.tolist(), utility
        assert (table["total"].to_numpy() <= np.tile(pools, 5)).all()
    assert "water-filling" in out and "maximin" in out
