"""Data sources: what a study measures after each batch, for simulations of the adaptive loop.

A source is anything with ``measure(totals, *, seed) -> DataFrame``: given how many samples each
group has, it trains the model on nested subsamples and returns measurements with the columns of
a points table (``group, n, n_total, value, seed``), as a real study would. A source that knows
the truth also exposes ``true_curves`` so runs can be scored against the oracle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from allocate.curves import Curve
from allocate.errors import InputError

__all__ = ["Source", "SyntheticSource", "random_synthetic_study"]


class Source(Protocol):
    """Anything that measures per-group performance at given sample counts."""

    def measure(self, totals: Mapping[str, int], *, seed: int) -> pd.DataFrame: ...


@dataclass(frozen=True)
class SyntheticSource:
    """Known learning curves plus measurement noise, measured on nested subsamples.

    Parameters
    ----------
    curves : dict of str to Curve
        The true curve of each group.
    noise : float
        Relative measurement noise: each value is ``L * (1 + noise * e)`` with ``e`` standard
        normal (a held-out estimate is noisier where the loss is larger).
    fractions : sequence of float
        The nested subsample fractions measured at each call (1 is the full data).
    replicates : int
        Measurements per subsample size (independent noise).

    Examples
    --------
    >>> source = SyntheticSource({"A": Curve(a=1.0, b=0.5)}, noise=0.0)
    >>> source.measure({"A": 100}, seed=0)["value"].round(3).tolist()
    [0.2, 0.141, 0.115, 0.1]
    """

    curves: dict[str, Curve]
    noise: float = 0.02
    fractions: Sequence[float] = (0.25, 0.5, 0.75, 1.0)
    replicates: int = 1

    def __post_init__(self) -> None:
        if not self.noise >= 0:
            raise InputError(f"noise must be >= 0; got {self.noise}")
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise InputError(f"fractions must lie in (0, 1]; got {list(self.fractions)}")
        if int(self.replicates) != self.replicates or self.replicates < 1:
            raise InputError(f"replicates must be a whole number >= 1; got {self.replicates}")

    @property
    def true_curves(self) -> dict[str, Curve]:
        return dict(self.curves)

    def measure(self, totals: Mapping[str, int], *, seed: int) -> pd.DataFrame:
        """Measurements at each fraction of every group's current size (groups with 0 skipped)."""
        unknown = sorted(set(totals) - set(self.curves))
        if unknown:
            raise InputError(f"the source has no curve for group(s) {', '.join(unknown)}")
        rng = np.random.default_rng(seed)
        pooled = float(sum(totals.values()))
        rows = []
        for group, total in totals.items():
            if total < 1:
                continue
            curve = self.curves[group]
            for fraction in self.fractions:
                n = max(1.0, float(np.floor(fraction * total)))
                n_total = max(n, float(np.floor(fraction * pooled)))
                loss = float(curve.loss(n, n_total))
                for _ in range(self.replicates):
                    noisy = loss * (1 + self.noise * rng.standard_normal())
                    rows.append((group, n, n_total, float(curve.to_metric(noisy)), seed))
        return pd.DataFrame(rows, columns=["group", "n", "n_total", "value", "seed"])


def random_synthetic_study(
    seed: int,
    *,
    groups: int | None = None,
    budget: float = 2000.0,
    utility: str = "maximin",
    noise: float = 0.03,
):
    """A random study with known curves, for benchmarks and tests of strategies.

    2 to 5 groups (or ``groups``), curves ``a ~ U(1, 6)``, ``b ~ U(0.25, 0.7)``,
    ``c ~ U(0, 0.1)``, costs drawn from {1, 2, 4} and population shares from a Dirichlet(2).

    Returns
    -------
    (StudySpec, SyntheticSource)
        The study (its curves are placeholders: strategies fit their own) and the source.
    """
    from allocate.study_file import GroupSpec, StudySpec

    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6)) if groups is None else int(groups)
    names = [f"g{i}" for i in range(k)]
    truth = {
        name: Curve(a=rng.uniform(1, 6), b=rng.uniform(0.25, 0.7), c=rng.uniform(0.0, 0.1))
        for name in names
    }
    shares = rng.dirichlet(np.full(k, 2.0))
    costs = rng.choice([1.0, 2.0, 4.0], size=k)
    specs = tuple(
        GroupSpec(name=name, curve=Curve(a=1.0, b=0.5), cost=float(cost), weight=float(share))
        for name, cost, share in zip(names, costs, shares, strict=True)
    )
    study = StudySpec(groups=specs, budget=budget, utility=utility)
    return study, SyntheticSource(truth, noise=noise)
