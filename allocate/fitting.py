"""Fitting learning curves to measurements, per group, with uncertainty.

The fit is bounded non-linear least squares (``scipy.optimize.least_squares``) of
``L(n) = c + a n^-b + t N^-q`` to the points of one group, in linear or log space. Replicates at
one size enter through their mean and count, which gives the same least-squares problem as the
raw points at a fraction of the cost.

Goodness of fit is reported the way a statsmodels regression reports it, in the fit's space
(log space for ``log_space``): residual degrees of freedom (points minus free parameters),
``R^2`` against the mean of the points, the root mean square residual, and the Gaussian
log-likelihood with AIC and BIC counting the free curve parameters (not the noise variance),
as ``statsmodels.regression.linear_model.RegressionResults`` does. AIC and BIC compare families
fitted to the same points in the same space.

Uncertainty comes two ways: standard errors from the covariance ``s^2 (J'J)^-1`` at the optimum
(Wald intervals), and, with ``bootstrap > 0``, percentile intervals from refits on resampled data.
Resampling draws measurements with replacement within each size; where some size has a single
measurement that would leave it fixed, residuals are resampled instead (the result says which).

Bootstrap refits of the ``power`` and ``power-offset`` families in linear space are solved
exactly in bulk: for a fixed exponent ``b`` the model is linear in ``(a, c)``, so the
least-squares optimum over ``(a, c)`` has a closed form and only ``b`` is searched, for all
resamples at once. This is what makes 200 resamples of 100 groups take seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from allocate.curves import FAMILY_PARAMETERS, Curve, Family, Sense
from allocate.errors import FitError, InputError
from allocate.points import validate_points

__all__ = [
    "fit_curves", "fit_group", "fit_rows", "CurveFit", "CurveFits", "MIN_BOOTSTRAP",
    "min_resamples",
]  # fmt: skip

#: Bounds on exponents (Rolf et al. bound them to [0, 2]; zero itself is not a learning curve).
EXPONENT_BOUNDS = (0.01, 2.0)
_TINY = 1e-12
_LOWER = {"a": _TINY, "b": EXPONENT_BOUNDS[0], "c": 0.0, "t": 0.0, "q": EXPONENT_BOUNDS[0]}
_UPPER = {"a": np.inf, "b": EXPONENT_BOUNDS[1], "c": np.inf, "t": np.inf, "q": EXPONENT_BOUNDS[1]}
_EXPONENT_GRID = np.geomspace(EXPONENT_BOUNDS[0], EXPONENT_BOUNDS[1], 160)
#: The fewest bootstrap resamples accepted (more at high levels; see :func:`min_resamples`).
MIN_BOOTSTRAP = 20
#: One-sided p-value below which points that go the wrong way with n are reported.
_TREND_P_VALUE = 0.05

BootstrapMethod = Literal["within-size", "residual"]


@dataclass(frozen=True)
class CurveFit:
    """One group's fitted learning curve, with every number of the fit as an attribute.

    Attributes
    ----------
    group : str
        The group's name.
    curve : Curve
        The fitted curve (loss sense; ``curve.predict`` reports in the metric's own sense).
    family : str
        ``"power"``, ``"power-offset"`` or ``"transfer"``.
    estimates, std_errors : dict[str, float]
        The free parameters and their standard errors from the covariance.
    intervals : dict[str, tuple[float, float]]
        Interval per free parameter at ``level``: bootstrap percentiles when ``bootstrap_samples``
        exist, otherwise Wald (estimate +/- t * standard error, clipped to the bounds).
    covariance : numpy.ndarray
        Covariance of the free parameters, in the order of ``estimates``.
    residual_error : float
        Root mean square residual of the points, in the fit's space (log space if ``log_space``).
    residual_dof : int
        Residual degrees of freedom: points minus free parameters. At 0 the curve passes through
        every point and the standard errors measure nothing (the fit warns).
    r_squared : float
        ``1 - SSR / TSS`` in the fit's space, TSS about the mean of the points (NaN when the
        points are all equal).
    log_likelihood, aic, bic : float
        Gaussian log-likelihood at the least-squares optimum, ``-2 llf + 2 k`` and
        ``-2 llf + k log(points)`` with ``k`` free parameters (statsmodels' convention).
    fitted_sizes : tuple of float
        The smallest and largest own-group size ``n`` among the points: the range the curve
        was fitted on, beyond which it is extrapolated.
    bootstrap_samples : numpy.ndarray or None
        Refitted free parameters, one row per resample.
    warnings : tuple of str
        Exponents at a bound, poorly identified parameters, degenerate bootstrap.
    """

    group: str
    curve: Curve
    family: str
    log_space: bool
    level: float
    estimates: dict[str, float]
    std_errors: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    interval_method: str
    covariance: np.ndarray = field(repr=False)
    residual_error: float = 0.0
    n_points: int = 0
    n_sizes: int = 0
    residual_dof: int | None = None
    r_squared: float = float("nan")
    log_likelihood: float = float("nan")
    aic: float = float("nan")
    bic: float = float("nan")
    fitted_sizes: tuple[float, float] | None = None
    bootstrap_samples: np.ndarray | None = field(default=None, repr=False)
    bootstrap_method: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def sense(self) -> Sense:
        """The metric's sense, ``"loss"`` or ``"score"``."""
        return self.curve.sense

    @property
    def asymptote(self) -> float:
        """The value the metric approaches with unlimited own-group data, in its own sense."""
        return float(self.curve.to_metric(self.curve.c))

    def predict(
        self, n: np.ndarray | float, n_total: np.ndarray | float | None = None
    ) -> np.ndarray:
        """The fitted metric at own-group size ``n`` (and pooled size ``n_total``)."""
        return self.curve.predict(n, n_total)

    def predict_interval(
        self,
        n: np.ndarray | float,
        n_total: np.ndarray | float | None = None,
        *,
        level: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """An interval for the curve's value at ``n``, as ``(lower, upper)`` in the metric's sense.

        Uses the bootstrap refits when there are any (percentiles of the refitted curves'
        values), otherwise the delta method with the covariance.
        """
        level = self.level if level is None else _check_level(level)
        n = np.asarray(n, dtype=float)
        pooled = n if n_total is None else np.asarray(n_total, dtype=float)
        if self.bootstrap_samples is not None and len(self.bootstrap_samples) > 1:
            refits = self._full_params(self.bootstrap_samples)
            losses = _loss_at(refits, n[..., None], pooled[..., None])
            tail = 50 * (1 - level)
            low, high = np.percentile(losses, [tail, 100 - tail], axis=-1)
        else:
            names = list(self.estimates)
            point = self._full_params(np.array([[self.estimates[k] for k in names]]))
            gradient = _loss_gradient(point, n[..., None], pooled[..., None], names)[..., 0, :]
            spread = np.sqrt(np.einsum("...i,ij,...j->...", gradient, self.covariance, gradient))
            z = stats.norm.ppf(0.5 + level / 2)
            centre = self.curve.loss(n, pooled)
            low, high = centre - z * spread, centre + z * spread
        bounds = np.stack([self.curve.to_metric(low), self.curve.to_metric(high)])
        lower, upper = np.sort(bounds, axis=0)
        return lower, upper

    def _full_params(self, free: np.ndarray) -> dict[str, np.ndarray]:
        """Expand rows of free parameters to all five, filling fixed ones from the curve."""
        full = self.curve.params()
        out = {k: np.full(len(free), v) for k, v in full.items()}
        for j, name in enumerate(self.estimates):
            out[name] = free[:, j]
        return out

    def to_dict(self) -> dict:
        """Plain-data form (JSON-ready) of the fit."""
        return {
            "group": self.group,
            "family": self.family,
            "sense": self.sense,
            "score_max": self.curve.score_max,
            "log_space": self.log_space,
            "curve": self.curve.params(),
            "asymptote": self.asymptote,
            "estimates": dict(self.estimates),
            "std_errors": dict(self.std_errors),
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "interval_method": self.interval_method,
            "level": self.level,
            "residual_error": self.residual_error,
            "residual_dof": self.residual_dof,
            "r_squared": _finite_or_none(self.r_squared),
            "log_likelihood": _finite_or_none(self.log_likelihood),
            "aic": _finite_or_none(self.aic),
            "bic": _finite_or_none(self.bic),
            "fitted_sizes": None if self.fitted_sizes is None else list(self.fitted_sizes),
            "n_points": self.n_points,
            "n_sizes": self.n_sizes,
            "bootstrap_resamples": 0
            if self.bootstrap_samples is None
            else len(self.bootstrap_samples),
            "bootstrap_method": self.bootstrap_method,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class CurveFits:
    """The fitted curves of every group in a points table.

    Index by group name (``fits["YRI"]``) or iterate over :attr:`fits`.
    """

    fits: tuple[CurveFit, ...]
    family: str
    sense: Sense
    level: float

    def __getitem__(self, group: str) -> CurveFit:
        for fit in self.fits:
            if fit.group == group:
                return fit
        raise KeyError(group)

    def __iter__(self):
        return iter(self.fits)

    def __len__(self) -> int:
        return len(self.fits)

    @property
    def groups(self) -> list[str]:
        """Group names in the order of the points table."""
        return [fit.group for fit in self.fits]

    @property
    def curves(self) -> dict[str, Curve]:
        """The fitted curves by group name."""
        return {fit.group: fit.curve for fit in self.fits}

    @property
    def warnings(self) -> list[str]:
        """Every group's warnings, each prefixed by the group's name."""
        return [f"{fit.group}: {w}" for fit in self.fits for w in fit.warnings]

    def to_frame(self) -> pd.DataFrame:
        """One row per group and free parameter: estimate, standard error and interval."""
        rows = []
        for fit in self.fits:
            for name, estimate in fit.estimates.items():
                low, high = fit.intervals[name]
                rows.append(
                    {
                        "group": fit.group,
                        "parameter": name,
                        "estimate": estimate,
                        "std_error": fit.std_errors[name],
                        "lower": low,
                        "upper": high,
                        "residual_error": fit.residual_error,
                        "residual_dof": fit.residual_dof,
                        "r_squared": fit.r_squared,
                        "aic": fit.aic,
                        "bic": fit.bic,
                    }
                )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        """Plain-data form (JSON-ready): the family, sense, level and each group's fit."""
        return {
            "family": self.family,
            "sense": self.sense,
            "level": self.level,
            "groups": [fit.to_dict() for fit in self.fits],
        }

    def summary(self) -> str:
        """A plain-text table of each group's parameters with intervals, then the warnings."""
        pct = f"{100 * self.level:g}%"
        lines = [f"Learning curves ({self.family}, {self.sense}; {pct} intervals)"]
        for fit in self.fits:
            lines.append(
                f"  {fit.group}: {fit.n_points} points at {fit.n_sizes} sizes, "
                f"asymptote {fit.asymptote:.4g}"
            )
            lines.append(
                f"    residual dof {fit.residual_dof}, RMSE {fit.residual_error:.4g}, "
                f"R^2 {fit.r_squared:.4f}, AIC {fit.aic:.4g}, BIC {fit.bic:.4g}"
            )
            for name, estimate in fit.estimates.items():
                low, high = fit.intervals[name]
                lines.append(
                    f"    {name} = {estimate:<10.4g} se {fit.std_errors[name]:<10.3g}"
                    f" [{low:.4g}, {high:.4g}]"
                )
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def fit_curves(
    points: pd.DataFrame,
    *,
    family: Family = "power-offset",
    sense: Sense = "loss",
    score_max: float = 1.0,
    log_space: bool = False,
    bootstrap: int = 0,
    level: float = 0.9,
    seed: int | None = None,
) -> CurveFits:
    """Fit a learning curve to each group of a points table.

    Parameters
    ----------
    points : pandas.DataFrame
        Columns ``group``, ``n``, ``value`` and optionally ``n_total`` (pooled training size)
        and ``seed``; rows at one size are replicates.
    family : {"power", "power-offset", "transfer"}
        ``power`` fits ``a n^-b``; ``power-offset`` adds the asymptote ``c``; ``transfer`` adds
        ``t N^-q`` and needs points where ``n_total`` varies independently of ``n``.
    sense : {"loss", "score"}
        Whether lower (loss) or higher (score: R^2, AUC, a utility) values are better.
    score_max : float
        The best possible score (the curve is fitted to ``score_max - value``).
    log_space : bool
        Fit log residuals, for losses that span decades (losses must then be positive).
    bootstrap : int
        Number of bootstrap resamples for percentile intervals (0 for Wald intervals only);
        otherwise at least :func:`min_resamples` of ``level`` (20 at the default 0.9).
    level : float
        Confidence level of the intervals, in (0, 1).
    seed : int, optional
        Seed of the bootstrap's random numbers.

    Returns
    -------
    CurveFits
        One :class:`CurveFit` per group, in the order groups first appear.

    Raises
    ------
    InputError
        A malformed table or argument, a negative ``score_max``, or a score above
        ``score_max``.
    FitError
        A group with fewer distinct sizes than free parameters, points that cannot identify
        the transfer term, or a fit that does not converge.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> n = np.repeat([50, 100, 200, 400, 800, 1600], 3)
    >>> noise = np.random.default_rng(1).normal(0, 0.002, n.size)
    >>> points = pd.DataFrame({"group": "A", "n": n, "value": 0.1 + 2 * n**-0.5 + noise})
    >>> fit = fit_curves(points, bootstrap=100, seed=1)["A"]
    >>> round(fit.curve.b, 1), round(fit.curve.c, 2)
    (0.5, 0.1)
    """
    _check_options(family, sense, score_max, bootstrap, level)
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    ):
        raise InputError(f"seed must be a whole number >= 0; got {seed!r}")
    table = validate_points(points)
    options = dict(family=family, sense=sense, score_max=score_max, log_space=log_space,
                   bootstrap=bootstrap, level=level, rng=np.random.default_rng(seed))
    fits = tuple(fit_rows(rows, group=str(group), **options)
                 for group, rows in table.groupby("group", sort=False))
    return CurveFits(fits=fits, family=family, sense=sense, level=level)


def fit_rows(rows: pd.DataFrame, **options: Any) -> CurveFit:
    """Fit one group's curve to its rows of a points table (columns ``n``, ``value`` and
    ``n_total``); ``options`` as for :func:`fit_group`."""
    return fit_group(rows["n"].to_numpy(float), rows["value"].to_numpy(float),
                     rows["n_total"].to_numpy(float), **options)


def fit_group(
    n: np.ndarray,
    value: np.ndarray,
    n_total: np.ndarray | None = None,
    *,
    group: str = "group",
    family: Family = "power-offset",
    sense: Sense = "loss",
    score_max: float = 1.0,
    log_space: bool = False,
    bootstrap: int = 0,
    level: float = 0.9,
    rng: np.random.Generator | None = None,
) -> CurveFit:
    """Fit one group's curve to arrays of sizes and values; see :func:`fit_curves`.

    ``rng`` drives the bootstrap; the default is a generator seeded with 0.
    """
    _check_options(family, sense, score_max, bootstrap, level)
    n = np.asarray(n, dtype=float)
    pooled = n if n_total is None else np.asarray(n_total, dtype=float)
    value = np.asarray(value, dtype=float)
    if sense == "score" and np.any(value > score_max):
        worst = int(np.argmax(value))
        raise InputError(
            f"group {group!r} has a score of {value[worst]:g} at n = {n[worst]:g}, above "
            f"score_max = {score_max:g}, the best possible score; raise score_max or check "
            "the sense of the metric"
        )
    loss = score_max - value if sense == "score" else value
    names = FAMILY_PARAMETERS[family]
    cells = _Cells.from_points(n, pooled, loss, log_space=log_space)
    _check_identifiable(cells, family, group, log_space, loss)

    free = _fit_cells(cells, family, log_space, group)
    jacobian = _residual_jacobian(free, cells, names, log_space)
    residuals = _cell_residuals(free, cells, names, log_space)
    residual_dof = len(n) - len(names)
    dof = max(residual_dof, 1)
    ssr = float(np.sum(residuals**2) + cells.within_ss)
    sigma2 = ssr / dof
    covariance, singular = _covariance(jacobian, sigma2)
    std_errors = np.sqrt(np.clip(np.diag(covariance), 0, None))
    quality = _goodness_of_fit(cells, ssr, len(n), len(names))

    curve = _curve(free, names, sense, score_max)
    warnings = _fit_warnings(free, std_errors, names, singular)
    if residual_dof == 0:
        warnings.append(
            f"no residual degrees of freedom ({len(n)} points, {len(names)} parameters): the "
            "curve passes through every point, so its standard errors and intervals measure "
            "nothing; measure replicates or more sizes, or fit a family with fewer parameters"
        )
    warnings += _trend_warnings(n, value, sense)
    samples, method = None, None
    if bootstrap:
        rng = np.random.default_rng(0) if rng is None else rng
        samples, method, note = _bootstrap(cells, free, family, log_space, bootstrap, rng, group)
        warnings += note
        intervals = _percentile_intervals(samples, names, level)
        warnings += _outside_interval_warnings(free, intervals, names)
        interval_method = f"bootstrap percentile ({method}, {bootstrap} resamples)"
    else:
        intervals = _wald_intervals(free, std_errors, names, level, dof)
        interval_method = "wald"
    return CurveFit(
        group=group,
        curve=curve,
        family=family,
        log_space=log_space,
        level=level,
        estimates=dict(zip(names, map(float, free), strict=True)),
        std_errors=dict(zip(names, map(float, std_errors), strict=True)),
        intervals=intervals,
        interval_method=interval_method,
        covariance=covariance,
        residual_error=float(np.sqrt(ssr / len(n))),
        n_points=len(n),
        n_sizes=cells.size,
        residual_dof=residual_dof,
        **quality,
        fitted_sizes=(float(n.min()), float(n.max())),
        bootstrap_samples=samples,
        bootstrap_method=method,
        warnings=tuple(warnings),
    )


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cells:
    """Points grouped by distinct (n, N): the mean response, its count and the raw values.

    ``response`` is the loss, or its log in log space; least squares on cell means weighted by
    counts equals least squares on the raw points up to the within-cell sum of squares.
    """

    n: np.ndarray
    pooled: np.ndarray
    count: np.ndarray
    mean: np.ndarray
    members: tuple[np.ndarray, ...]
    within_ss: float
    log_space: bool

    @property
    def size(self) -> int:
        return len(self.n)

    @classmethod
    def from_points(cls, n, pooled, loss, *, log_space: bool) -> _Cells:
        response = np.log(np.where(loss > 0, loss, np.nan)) if log_space else loss
        keys, inverse = np.unique(np.column_stack([n, pooled]), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        members = tuple(response[inverse == k] for k in range(len(keys)))
        means = np.array([m.mean() for m in members])
        within = float(sum(np.sum((m - m.mean()) ** 2) for m in members))
        counts = np.array([len(m) for m in members], dtype=float)
        return cls(keys[:, 0], keys[:, 1], counts, means, members, within, log_space)

    def with_means(self, means: np.ndarray) -> _Cells:
        return _Cells(self.n, self.pooled, self.count, means, self.members, 0.0, self.log_space)


def min_resamples(level: float) -> int:
    """The fewest bootstrap resamples for percentile intervals at ``level``.

    Each tail of the interval must hold at least one resample, ``B (1 - level) / 2 >= 1``,
    and never fewer than :data:`MIN_BOOTSTRAP`; below that the percentiles are the extreme
    resamples and can exclude the estimate itself.

    Examples
    --------
    >>> min_resamples(0.9), min_resamples(0.99)
    (20, 200)
    """
    return max(MIN_BOOTSTRAP, math.ceil(2 / (1 - _check_level(level)) - 1e-9))


def _check_options(family, sense, score_max, bootstrap, level) -> None:
    if family not in FAMILY_PARAMETERS:
        raise InputError(f"family must be one of {', '.join(FAMILY_PARAMETERS)}; got {family!r}")
    if sense not in ("loss", "score"):
        raise InputError(f"sense must be 'loss' or 'score'; got {sense!r}")
    if not np.isfinite(score_max) or score_max < 0:
        raise InputError(
            f"score_max must be a finite number >= 0 (the best possible score, 1 for R^2 and "
            f"AUC); got {score_max}"
        )
    if int(bootstrap) != bootstrap or bootstrap < 0:
        raise InputError(f"bootstrap must be a whole number >= 0; got {bootstrap}")
    fewest = min_resamples(level)
    if 0 < bootstrap < fewest:
        raise InputError(
            f"bootstrap must be 0 (Wald intervals) or at least {fewest} resamples at level "
            f"{level:g}, so that each tail of the percentile interval holds a resample; "
            f"got {bootstrap}"
        )


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, e.g. 0.9; got {level}")
    return level


def _check_identifiable(cells: _Cells, family: str, group: str, log_space: bool, loss) -> None:
    k = len(FAMILY_PARAMETERS[family])
    sizes = cells.size if family == "transfer" else len(np.unique(cells.n))
    if sizes < k:
        simpler = " or a family with fewer parameters" if family != "power" else ""
        raise FitError(
            f"group {group!r} has {sizes} distinct training sizes but the {family} family has "
            f"{k} free parameters; measure at more sizes{simpler}"
        )
    if log_space and np.any(loss <= 0):
        raise FitError(
            f"group {group!r} has losses <= 0, which a log-space fit cannot take; "
            "fit in linear space (log_space=False) or check the sense of the metric"
        )
    if family == "transfer":
        design = np.column_stack([np.ones(cells.size), np.log(cells.n), np.log(cells.pooled)])
        if np.linalg.matrix_rank(design, tol=1e-8) < 3:
            raise FitError(
                f"group {group!r}: the transfer family needs points where n_total varies "
                "independently of n (e.g. the same own-group size with different pooled sizes)"
            )


# --- the model -------------------------------------------------------------------------------


def _loss_at(params: dict[str, np.ndarray], n, pooled) -> np.ndarray:
    loss = params["c"] + params["a"] * n ** (-params["b"])
    return loss + params["t"] * pooled ** (-params["q"])


def _loss_gradient(params: dict[str, np.ndarray], n, pooled, names) -> np.ndarray:
    """d loss / d free parameter, stacked on the last axis in the order of ``names``."""
    own = n ** (-params["b"])
    shared = pooled ** (-params["q"])
    columns = {
        "a": own,
        "b": -params["a"] * np.log(n) * own,
        "c": np.ones_like(own),
        "t": shared,
        "q": -params["t"] * np.log(pooled) * shared,
    }
    return np.stack([np.broadcast_to(columns[k], own.shape) for k in names], axis=-1)


def _as_params(free: np.ndarray, names) -> dict[str, np.ndarray]:
    params = {"a": 1.0, "b": 0.5, "c": 0.0, "t": 0.0, "q": 0.5}
    params.update(zip(names, free, strict=True))
    return params


def _curve(free: np.ndarray, names, sense: Sense, score_max: float) -> Curve:
    params = {k: float(v) for k, v in _as_params(free, names).items()}
    return Curve(**params, sense=sense, score_max=score_max)


def _cell_residuals(free, cells: _Cells, names, log_space: bool) -> np.ndarray:
    predicted = _loss_at(_as_params(free, names), cells.n, cells.pooled)
    if log_space:
        predicted = np.log(predicted)
    return np.sqrt(cells.count) * (predicted - cells.mean)


def _residual_jacobian(free, cells: _Cells, names, log_space: bool) -> np.ndarray:
    params = _as_params(free, names)
    jacobian = _loss_gradient(params, cells.n, cells.pooled, names)
    if log_space:
        jacobian = jacobian / _loss_at(params, cells.n, cells.pooled)[:, None]
    return np.sqrt(cells.count)[:, None] * jacobian


# --- fitting ---------------------------------------------------------------------------------


def _fit_cells(cells: _Cells, family: str, log_space: bool, group: str, start=None) -> np.ndarray:
    """Least-squares fit on cell means; ``start`` skips the initial grid search."""
    names = FAMILY_PARAMETERS[family]
    if start is None:
        start = _initial_guess(cells, family)
    lower = np.array([_LOWER[k] for k in names])
    upper = np.array([_UPPER[k] for k in names])
    span = np.where(np.isfinite(upper), upper - lower, 1.0)
    inner_upper = np.where(np.isfinite(upper), upper - 1e-9 * span, np.inf)
    x0 = np.clip(start, lower + 1e-9 * span, inner_upper)
    try:
        result = optimize.least_squares(
            _cell_residuals,
            x0,
            jac=_residual_jacobian,
            bounds=(lower, upper),
            args=(cells, names, log_space),
            x_scale="jac",
        )
    except (ValueError, FloatingPointError) as error:
        raise FitError(f"the fit for group {group!r} failed: {error}") from None
    if result.status <= 0 or not np.all(np.isfinite(result.x)):
        raise FitError(
            f"the fit for group {group!r} did not converge ({result.message}); "
            "check the points, or fit the power family or in log space"
        )
    return result.x


def _initial_guess(cells: _Cells, family: str) -> np.ndarray:
    """Start values from a grid over exponents, with the linear parameters solved exactly."""
    loss = np.exp(cells.mean) if cells.log_space else cells.mean
    if family == "transfer":
        return _transfer_guess(cells, loss)
    exponent, a, c = _profile_fit(
        cells.n, cells.count, loss[None, :], offset=(family == "power-offset"), refine_steps=4
    )
    guess = {"a": a[0], "b": exponent[0], "c": c[0]}
    return np.array([guess[k] for k in FAMILY_PARAMETERS[family]])


def _transfer_guess(cells: _Cells, loss: np.ndarray) -> np.ndarray:
    weights = np.sqrt(cells.count)
    best = (np.inf, None)
    grid = np.geomspace(EXPONENT_BOUNDS[0] * 5, EXPONENT_BOUNDS[1], 14)
    for b in grid:
        for q in grid:
            design = np.column_stack([cells.n**-b, np.ones(cells.size), cells.pooled**-q])
            coef, norm = optimize.nnls(weights[:, None] * design, weights * loss)
            if norm < best[0]:
                best = (norm, (coef[0], b, coef[1], coef[2], q))
    a, b, c, t, q = best[1]
    return np.array([max(a, 1e-6), b, c, t, q])


def _profile_fit(n, count, means, *, offset: bool, refine_steps: int = 40):
    """Exact least squares of ``c + a n^-b`` (or ``a n^-b``) for many response rows at once.

    For each candidate ``b`` the optimal ``(a >= 0, c >= 0)`` has a closed form; ``b`` is found
    by a grid search refined with a bounded golden-section search, per row.

    Parameters
    ----------
    n, count : array (S,)
        Distinct sizes and their numbers of measurements (the weights).
    means : array (R, S)
        Mean loss per size, one row per problem (e.g. per bootstrap resample).

    Returns
    -------
    b, a, c : arrays (R,)
    """
    log_n = np.log(n)

    def sse_at(b):  # b: (R, G) -> sse (R, G), a, c
        x = np.exp(-b[..., None] * log_n)  # (R, G, S)
        y = means[:, None, :]
        w = count
        sw, sx, sxx = w.sum(), (w * x).sum(-1), (w * x * x).sum(-1)
        sy, sxy = (w * y).sum(-1), (w * x * y).sum(-1)
        a = sxy / sxx  # the best a with c = 0
        c = np.zeros_like(a)
        if offset:
            det = sw * sxx - sx * sx
            a_off = (sw * sxy - sx * sy) / np.where(det > 0, det, np.inf)
            c_off = (sy - a_off * sx) / sw
            interior = (det > 0) & (a_off > 0) & (c_off >= 0)
            a, c = np.where(interior, a_off, a), np.where(interior, c_off, c)
        flat = a <= 0  # the points do not fall: a constant (or zero) fits best
        a = np.where(flat, _TINY, a)
        if offset:
            c = np.where(flat, np.maximum(sy / sw, 0.0), c)
        resid = y - c[..., None] - a[..., None] * x
        return (w * resid * resid).sum(-1), a, c

    rows = means.shape[0]
    grid = np.broadcast_to(_EXPONENT_GRID, (rows, _EXPONENT_GRID.size))
    sse, _, _ = sse_at(grid)
    best = np.argmin(sse, axis=1)
    lo = _EXPONENT_GRID[np.maximum(best - 1, 0)]
    hi = _EXPONENT_GRID[np.minimum(best + 1, _EXPONENT_GRID.size - 1)]
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(refine_steps):  # golden section: 40 steps shrink the bracket to 1e-8
        left, right = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        sse_lr, _, _ = sse_at(np.column_stack([left, right]))
        go_left = sse_lr[:, 0] < sse_lr[:, 1]
        hi = np.where(go_left, right, hi)
        lo = np.where(go_left, lo, left)
    b = (lo + hi) / 2
    _, a, c = sse_at(b[:, None])
    return b, a[:, 0], c[:, 0]


# --- goodness of fit and warnings ------------------------------------------------------------


def _goodness_of_fit(cells: _Cells, ssr: float, points: int, k: int) -> dict[str, float]:
    """R^2, Gaussian log-likelihood, AIC and BIC of a least-squares fit, as statsmodels has them."""
    grand = float(np.sum(cells.count * cells.mean) / np.sum(cells.count))
    tss = cells.within_ss + float(np.sum(cells.count * (cells.mean - grand) ** 2))
    r_squared = 1 - ssr / tss if tss > 0 else float("nan")
    with np.errstate(divide="ignore"):
        llf = -points / 2 * (np.log(2 * np.pi) + np.log(ssr / points) + 1)
    return {
        "r_squared": float(r_squared),
        "log_likelihood": float(llf),
        "aic": float(-2 * llf + 2 * k),
        "bic": float(-2 * llf + k * np.log(points)),
    }


def _trend_warnings(n: np.ndarray, value: np.ndarray, sense: Sense) -> list[str]:
    """Warn when the metric gets worse as n grows (least squares on log n, one-sided test)."""
    if len(np.unique(n)) < 3 or np.ptp(value) == 0:
        return []
    trend = stats.linregress(np.log(n), value)
    worse = trend.slope > 0 if sense == "loss" else trend.slope < 0
    if not worse or trend.pvalue / 2 >= _TREND_P_VALUE:
        return []
    verb = "rises" if sense == "loss" else "falls"
    return [
        f"the measured {sense} {verb} as n grows ({trend.slope * np.log(2):+.3g} per doubling "
        f"of n, one-sided p = {trend.pvalue / 2:.2g}); a learning curve assumes more data "
        "helps, so the fitted curve is flat and plans on it are arbitrary: check the sense of "
        "the metric and the measurements"
    ]


def _outside_interval_warnings(free, intervals: dict, names) -> list[str]:
    notes = []
    for value, name in zip(free, names, strict=True):
        low, high = intervals[name]
        if not low <= value <= high:
            notes.append(
                f"the estimate {name} = {value:.4g} lies outside its bootstrap interval "
                f"[{low:.4g}, {high:.4g}]; the resamples are skewed: use more resamples or "
                "Wald intervals"
            )
    return notes


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


# --- uncertainty -----------------------------------------------------------------------------


def _covariance(jacobian: np.ndarray, sigma2: float) -> tuple[np.ndarray, bool]:
    information = jacobian.T @ jacobian
    singular = np.linalg.cond(information) > 1e12
    return sigma2 * np.linalg.pinv(information), bool(singular)


def _fit_warnings(free, std_errors, names, singular: bool) -> list[str]:
    warnings = []
    for value, name in zip(free, names, strict=True):
        at_bound = min(abs(value - bound) for bound in EXPONENT_BOUNDS) < 1e-3
        if name in ("b", "q") and at_bound:
            warnings.append(
                f"exponent {name} = {value:.3g} sits at its bound {EXPONENT_BOUNDS}; "
                "the points do not pin down the learning rate"
            )
    if singular:
        warnings.append("the fit is poorly identified (singular information matrix)")
    for value, se, name in zip(free, std_errors, names, strict=True):
        if name in ("a", "b", "q") and se > abs(value):
            warnings.append(
                f"parameter {name} is poorly identified (standard error {se:.3g} > estimate "
                f"{value:.3g}); measure at more or larger sizes"
            )
    return warnings


def _wald_intervals(free, std_errors, names, level: float, dof: int) -> dict:
    z = stats.t.ppf(0.5 + level / 2, dof)
    return {
        name: (float(max(v - z * s, _LOWER[name])), float(min(v + z * s, _UPPER[name])))
        for v, s, name in zip(free, std_errors, names, strict=True)
    }


def _percentile_intervals(samples: np.ndarray, names, level: float) -> dict:
    tail = 50 * (1 - level)
    low, high = np.percentile(samples, [tail, 100 - tail], axis=0)
    return {name: (float(low[j]), float(high[j])) for j, name in enumerate(names)}


def _bootstrap(cells: _Cells, free, family, log_space, resamples: int, rng, group):
    """Refit on ``resamples`` resampled data sets; returns (samples, method, warnings)."""
    names = FAMILY_PARAMETERS[family]
    notes: list[str] = []
    if np.all(cells.count >= 2):
        method = "within-size"
        draws = [m[rng.integers(0, len(m), size=(resamples, len(m)))] for m in cells.members]
        means = np.column_stack([draw.mean(axis=1) for draw in draws])
    else:
        method = "residual"
        notes.append("some sizes have one measurement: bootstrap resamples residuals instead")
        fitted = _loss_at(_as_params(free, names), cells.n, cells.pooled)
        fitted = np.log(fitted) if log_space else fitted
        residuals = np.concatenate(cells.members) - fitted.repeat(cells.count.astype(int))
        residuals = residuals - residuals.mean()
        draws = fitted.repeat(cells.count.astype(int)) + rng.choice(
            residuals, size=(resamples, residuals.size)
        )
        edges = np.cumsum(cells.count.astype(int))[:-1]
        means = np.column_stack([part.mean(axis=1) for part in np.split(draws, edges, axis=1)])
    if family in ("power", "power-offset") and not log_space:
        b, a, c = _profile_fit(cells.n, cells.count, means, offset=(family == "power-offset"))
        columns = {"a": a, "b": b, "c": c}
        samples = np.column_stack([columns[k] for k in names])
    else:
        samples = np.array(
            [
                _fit_cells(cells.with_means(row), family, log_space, group, start=free)
                for row in means
            ]
        )
    return samples, method, notes
