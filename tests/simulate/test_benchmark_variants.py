"""A benchmark-only strategy variant is part of the configuration and of its folder's key."""

from __future__ import annotations

import pytest

from allocate.errors import InputError
from allocate.strategies import Adaptive
from simulate import benchmark
from simulate.benchmark import preset_config, run_benchmark


def test_the_anchored_variant_is_the_adaptive_strategy_with_anchor():
    config = preset_config("synthetic", strategies=("adaptive-anchored",))
    anchored = benchmark._strategy("adaptive-anchored", config, {})
    plain = benchmark._strategy("adaptive", config, {})
    assert isinstance(anchored, Adaptive) and anchored.anchor and not plain.anchor


def test_resuming_a_plain_run_folder_with_the_anchored_variant_is_refused(tmp_path):
    settings = dict(utilities=("maximin",), budgets=(400.0,), replicates=1)
    plain = preset_config("synthetic", strategies=("adaptive", "optimistic", "oracle"),
                          **settings)  # fmt: skip
    anchored = preset_config("synthetic", strategies=("adaptive", "adaptive-anchored", "oracle"),
                             **settings)  # fmt: skip
    assert plain.key() != anchored.key()
    run_benchmark(plain, tmp_path, workers=1)
    with pytest.raises(InputError, match="another benchmark configuration"):
        run_benchmark(anchored, tmp_path, workers=1)
    result = run_benchmark(anchored, tmp_path / "own", workers=1)
    assert set(result.results["strategy"]) == {"adaptive", "adaptive-anchored", "oracle"}
