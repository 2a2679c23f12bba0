"""How many replicates a benchmark needs to see a gain: paired t-test power per setting.

A benchmark that finds "no difference" between the oracle and a heuristic has either found
that the heuristic is as good, or run too few replicates to tell. :func:`power_analysis` says
which: per setting, the gain of one strategy over another in paired replicates (mean and
standard deviation of the differences), the power the benchmark's replicates had to detect a
gain that large, and how many replicates would detect it with the power asked (two-sided paired
t-test: the power from the noncentral t, :func:`paired_t_power`; the replicates needed solved
with ``statsmodels.stats.power.TTestPower``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from allocate import InputError

__all__ = ["power_analysis", "paired_t_power"]

SETTING = ["utility", "budget", "cost_ratio", "training"]
POWER_COLUMNS = [
    *SETTING, "strategy", "against", "gain", "sd", "n", "effect_size", "p_value", "power",
    "replicates_needed",
]  # fmt: skip


def power_analysis(
    results: pd.DataFrame,
    *,
    strategy: str = "oracle",
    against: Sequence[str] = ("equal", "proportional"),
    alpha: float = 0.05,
    power: float = 0.8,
) -> pd.DataFrame:
    """Per setting, ``strategy``'s gain over each of ``against`` and the replicates it takes.

    Parameters
    ----------
    results : pandas.DataFrame
        A benchmark's tidy results (columns ``replicate``, the setting, ``strategy`` and
        ``regret``; one or more rows per run).
    strategy : str
        The strategy whose gain is measured (by default the oracle: the most any allocation
        gains, so the largest effect a benchmark of the setting can hope to detect).
    against : sequence of str
        The strategies it is compared with.
    alpha, power : float
        Significance level and power of the two-sided paired t-test.

    Returns
    -------
    pandas.DataFrame
        One row per setting and compared strategy: ``gain`` (mean over replicates of the other's
        regret minus ``strategy``'s, > 0 when ``strategy`` did better), ``sd`` (their standard
        deviation), ``n`` (paired replicates), ``effect_size`` (``|gain| / sd``), ``p_value``
        (paired t-test), ``power`` (of the test at ``n`` replicates for this effect, see
        :func:`paired_t_power`) and ``replicates_needed`` (the least whole number of
        replicates with at least ``power``; NaN when there is no gain to detect).

    Raises
    ------
    InputError
        ``alpha`` or ``power`` outside (0, 1).

    Examples
    --------
    >>> results = pd.DataFrame({
    ...     "replicate": [0, 0, 1, 1, 2, 2], "utility": "maximin", "budget": 100.0,
    ...     "cost_ratio": 1.0, "training": "own", "strategy": ["oracle", "equal"] * 3,
    ...     "regret": [0.0, 0.1, 0.0, 0.3, 0.0, 0.2]})
    >>> row = power_analysis(results, against=["equal"]).iloc[0]
    >>> [round(float(row[k]), 3) for k in ("gain", "effect_size", "replicates_needed")]
    [0.2, 2.0, 5.0]
    """
    for name, value in (("alpha", alpha), ("power", power)):
        if not 0 < value < 1:
            raise InputError(f"{name} must be between 0 and 1; got {value}")
    runs = results.drop_duplicates(["replicate", *SETTING, "strategy"])
    wide = runs.pivot_table(index=["replicate", *SETTING], columns="strategy", values="regret")
    rows = []
    if strategy not in wide.columns:
        return pd.DataFrame(columns=POWER_COLUMNS)
    for setting, table in wide.groupby(level=SETTING, sort=False):
        for other in [name for name in against if name in table.columns]:
            gain = (table[other] - table[strategy]).dropna().to_numpy(float)
            rows.append([*setting, strategy, other, *_paired_power(gain, alpha, power)])
    return pd.DataFrame(rows, columns=POWER_COLUMNS)


def _paired_power(gain: np.ndarray, alpha: float, power: float) -> tuple:
    """Mean, SD, n, effect size, p-value, power at n and replicates needed of paired gains."""
    from scipy import stats

    n = len(gain)
    if n < 2:
        mean = float(gain.mean()) if n else math.nan
        return mean, math.nan, n, math.nan, math.nan, math.nan, math.nan
    mean, sd = float(gain.mean()), float(gain.std(ddof=1))
    if sd <= 1e-12 * max(1.0, abs(mean)):  # every replicate agrees: two show it (if any)
        sd = 0.0
        found = abs(mean) > 1e-12
        return (mean, sd, n, math.inf if found else math.nan, 0.0 if found else 1.0,
                1.0 if found else math.nan, 2.0 if found else math.nan)  # fmt: skip
    effect = abs(mean) / sd
    p_value = float(stats.ttest_1samp(gain, 0.0).pvalue)
    achieved = paired_t_power(effect, n, alpha)
    return mean, sd, n, effect, p_value, achieved, _replicates_needed(effect, alpha, power)


def paired_t_power(effect: float, n: int, alpha: float = 0.05) -> float:
    """The power of the two-sided paired t-test with ``n`` pairs at an effect of ``effect``
    standard deviations of the differences.

    The test statistic follows the noncentral t with ``n - 1`` degrees of freedom and
    noncentrality ``effect * sqrt(n)``; the power is its chance to fall beyond either critical
    value. Both tails are evaluated as upper tails (``P(T < -c) = P(T' > c)`` for ``T'`` of
    noncentrality ``-effect * sqrt(n)``): the lower tail's CDF underflows to NaN for large
    effects at few pairs, where statsmodels' ``TTestPower`` returns NaN.

    Parameters
    ----------
    effect : float
        The mean difference over its standard deviation (its sign does not matter).
    n : int
        Pairs, at least 2.
    alpha : float
        Significance level.

    Returns
    -------
    float

    Examples
    --------
    >>> round(paired_t_power(0.5, 34), 4), paired_t_power(1e3, 3)
    (0.8078, 1.0)
    """
    from scipy import stats

    dof = n - 1
    shift = abs(effect) * math.sqrt(n)
    critical = stats.t.isf(alpha / 2, dof)
    return float(stats.nct.sf(critical, dof, shift) + stats.nct.sf(critical, dof, -shift))


def _replicates_needed(effect: float, alpha: float, power: float) -> float:
    """The least whole number of pairs (>= 2) whose paired t-test has ``power`` at ``effect``."""
    import warnings

    from statsmodels.stats.power import TTestPower

    calculator = TTestPower()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # solve_power warns, then returns NaN, when it fails
        solved = float(np.asarray(
            calculator.solve_power(effect_size=effect, alpha=alpha, power=power)).item())
        if math.isfinite(solved):
            return float(max(2, math.ceil(solved)))
        # The root finder fails for very large effects, which a few replicates detect.
        for n in range(2, 11):
            if paired_t_power(effect, n, alpha) >= power:
                return float(n)
    return math.nan
