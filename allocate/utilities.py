"""The utilities a plan optimises: each one's aggregate, per-group terms and convex objective.

Every utility is one object here, and the solvers ask it rather than test its name:

- ``weighted``: the weighted mean loss ``sum w L / sum w`` (a sum of per-group terms ``w L``);
- ``maximin``: the worst loss ``max(L + shift)`` (``shift = -score_max`` for score curves, so it
  raises the lowest *score*);
- ``power-mean``: ``(sum w L^p / sum w)^(1/p)``, a monotone transform of the sum of the terms
  ``w L^p`` (``p = 1`` is weighted, ``p -> inf`` is maximin);
- ``target``: the least spend that brings every group with a target to it.

Each has a *form* the solvers dispatch on: ``"sum"`` (minimise a sum of per-group terms),
``"worst"`` (minimise the largest loss) or ``"cost"`` (minimise the spend under the targets).
Adding a utility means adding one class here and listing it in :data:`UTILITIES`.

Losses are always in the loss sense (lower is better) and the problem is an
:class:`allocate.optimise.AllocationProblem`; this module imports neither it nor cvxpy (the
convex objective receives the ``cvxpy`` module from its caller).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from allocate.errors import InputError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from allocate.optimise import AllocationProblem

__all__ = [
    "Utility",
    "Weighted",
    "Maximin",
    "PowerMean",
    "LeastCost",
    "UTILITIES",
    "UTILITY_NAMES",
    "BUDGETED_UTILITY_NAMES",
    "utility_named",
]


class Utility:
    """What a plan optimises (see the module docstring); subclasses set the class attributes.

    Attributes
    ----------
    name : str
        The name used in study files and ``plan(utility=...)``.
    form : {"sum", "worst", "cost"}
        The structure solvers exploit.
    needs_budget : bool
        False only for the target utility (its objective is the spend).
    uses_p : bool
        True when the exponent ``p`` enters the objective.
    without_targets : str
        The utility to plan with when the targets are dropped (the target utility becomes
        maximin: the closest a plan without targets comes to meeting them all).
    """

    name: ClassVar[str]
    form: ClassVar[str]
    needs_budget: ClassVar[bool] = True
    uses_p: ClassVar[bool] = False
    without_targets: ClassVar[str]

    def aggregate(self, problem: AllocationProblem, losses: np.ndarray) -> float:
        """The utility's aggregate of per-group ``losses`` (lower is better)."""
        return float(self.aggregates(problem, np.asarray(losses, dtype=float)))

    def aggregates(self, problem: AllocationProblem, losses: np.ndarray) -> np.ndarray:
        """The aggregate of every row of ``losses`` (groups on the last axis), all at once:
        shape ``losses.shape[:-1]``."""
        raise NotImplementedError

    def exponent(self, problem: AllocationProblem) -> float:
        """The power each loss is raised to in a sum-form utility's per-group terms."""
        return 1.0

    def objective(self, problem: AllocationProblem, n: np.ndarray) -> float:
        """The objective at totals ``n`` in the loss sense."""
        return self.aggregate(problem, problem.losses(n))

    def to_metric(self, problem: AllocationProblem, value: float) -> float:
        """An objective value from the loss sense to the metric's own sense."""
        if not np.any(problem.shift):
            return value
        return float(problem.normalised_weight @ -problem.shift) - value

    def cache_key(self, problem: AllocationProblem) -> tuple:
        """What, besides the data, fixes the compiled convex problem's structure."""
        return (self.name,)

    def convex_objective(self, cp: Any, problem: AllocationProblem, loss: Any, spend: Any
                         ) -> tuple[Any, list, dict]:
        """The cvxpy objective, given the affine expressions of the losses (``loss``, shifted by
        :meth:`loss_shift`) and of the spend: the expression, the extra constraints it needs
        and its parameters by name (their values come from :meth:`parameter_values`)."""
        raise NotImplementedError

    def parameter_values(self, problem: AllocationProblem) -> dict[str, np.ndarray]:
        """Values of the parameters :meth:`convex_objective` created."""
        return {}

    def loss_shift(self, problem: AllocationProblem) -> np.ndarray:
        """What the convex objective adds to each loss (the worst-loss form's shift)."""
        return np.zeros(problem.size)

    def stepped_objectives(self, problem: AllocationProblem, n: np.ndarray, step: int,
                           base: np.ndarray, stepped: np.ndarray) -> np.ndarray:
        """The objective after ``n + step * e_g`` for every group ``g`` at once, from the losses
        ``base`` at ``n`` and each group's own loss ``stepped`` after its step (the others'
        losses held at ``base``)."""
        raise NotImplementedError


class Weighted(Utility):
    """The weighted mean loss ``sum w L / sum w``."""

    name = "weighted"
    form = "sum"
    without_targets = "weighted"

    def terms(self, problem: AllocationProblem, losses: np.ndarray,
              index: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The per-group terms whose sum the utility minimises, for groups ``index``."""
        return problem.normalised_weight[index] * losses

    def aggregates(self, problem: AllocationProblem, losses: np.ndarray) -> np.ndarray:
        return losses @ problem.normalised_weight

    def loss_gradient(self, problem: AllocationProblem, losses: np.ndarray) -> np.ndarray:
        """The aggregate's derivative in each group's loss."""
        return problem.normalised_weight

    def convex_objective(self, cp, problem, loss, spend) -> tuple[Any, list, dict]:
        # weights multiply an epigraph variable, not the loss: weight * a would be a product
        # of two parameters, which is not DPP
        level = cp.Variable(problem.size, name="level")
        weight = cp.Parameter(problem.size, nonneg=True, name="weight")
        return self._weighted_norm(cp, problem, weight, level), [level >= loss], {"weight": weight}

    def _weighted_norm(self, cp: Any, problem: AllocationProblem, weight: Any, level: Any) -> Any:
        return weight @ level

    def parameter_values(self, problem: AllocationProblem) -> dict[str, np.ndarray]:
        return {"weight": problem.normalised_weight}

    def stepped_objectives(self, problem, n, step, base, stepped) -> np.ndarray:
        w = problem.normalised_weight
        return float(w @ base) - w * (base - stepped)


class PowerMean(Weighted):
    """The power mean of losses ``(sum w L^p / sum w)^(1/p)``, ``p >= 1``."""

    name = "power-mean"
    form = "sum"
    uses_p = True
    without_targets = "power-mean"

    def exponent(self, problem: AllocationProblem) -> float:
        return problem.p

    def terms(self, problem, losses, index=slice(None)) -> np.ndarray:
        return problem.normalised_weight[index] * losses**problem.p

    def aggregates(self, problem: AllocationProblem, losses: np.ndarray) -> np.ndarray:
        # scaled by the largest loss, so L^p never leaves floating point, for any p
        return _power_mean(problem.normalised_weight, losses, problem.p)

    def loss_gradient(self, problem: AllocationProblem, losses: np.ndarray) -> np.ndarray:
        # d M / d L_g = w_g (L_g / M)^(p - 1): scaled by M, so it holds for any p
        mean = self.aggregate(problem, losses)
        return problem.normalised_weight * (losses / mean) ** (problem.p - 1.0)

    def cache_key(self, problem: AllocationProblem) -> tuple:
        return (self.name, problem.p)

    def _weighted_norm(self, cp: Any, problem: AllocationProblem, weight: Any, level: Any) -> Any:
        # (sum w L^p)^(1/p) = || w^(1/p) L ||_p, with w^(1/p) the parameter
        return cp.pnorm(cp.multiply(weight, level), problem.p, approx=False)

    def parameter_values(self, problem: AllocationProblem) -> dict[str, np.ndarray]:
        return {"weight": problem.normalised_weight ** (1.0 / problem.p)}

    def stepped_objectives(self, problem, n, step, base, stepped) -> np.ndarray:
        w, p = problem.normalised_weight, problem.p
        scale = float(max(np.max(base), np.max(stepped[np.isfinite(stepped)], initial=0.0)))
        if not scale > 0:
            return np.zeros(problem.size)
        with np.errstate(over="ignore"):
            mine, theirs = (base / scale) ** p, (stepped / scale) ** p
        inner = np.maximum(float(w @ mine) - w * mine + w * theirs, 0.0)
        return scale * inner ** (1 / p)


def _power_mean(weight: np.ndarray, losses: np.ndarray, p: float) -> np.ndarray:
    """``(sum w L^p)^(1/p)`` (weights summing to one) over the last axis, as
    ``M (sum w (L/M)^p)^(1/p)``, ``M = max L``: every ratio is at most one, so no power
    overflows. Where ``M`` is not positive and finite, the answer is ``M``."""
    scale = np.max(losses, axis=-1, keepdims=True, initial=0.0)
    usable = (scale > 0) & np.isfinite(scale)
    divisor = np.where(usable, scale, 1.0)  # 1 where the answer is M itself: no inf * 0
    means = divisor[..., 0] * ((np.where(usable, losses / divisor, 0.0) ** p) @ weight) ** (1 / p)
    return np.where(usable[..., 0], means, scale[..., 0])


class Maximin(Utility):
    """The worst loss ``max(L + shift)`` (the lowest score, for score curves)."""

    name = "maximin"
    form = "worst"
    without_targets = "maximin"

    def aggregates(self, problem: AllocationProblem, losses: np.ndarray) -> np.ndarray:
        return np.max(losses + problem.shift, axis=-1)

    def to_metric(self, problem: AllocationProblem, value: float) -> float:
        if not np.any(problem.shift):
            return value
        return -value  # max(L - score_max) = -(the worst score)

    def loss_shift(self, problem: AllocationProblem) -> np.ndarray:
        return problem.shift

    def convex_objective(self, cp, problem, loss, spend) -> tuple[Any, list, dict]:
        # an explicit epigraph: Clarabel copes better than with cp.max over many groups
        worst = cp.Variable(name="worst_level")
        return worst, [loss <= worst], {}

    def stepped_objectives(self, problem, n, step, base, stepped) -> np.ndarray:
        size = problem.size
        shifted = base + problem.shift
        order = np.argsort(shifted)
        top = shifted[order[-1]]
        second = shifted[order[-2]] if size > 1 else -np.inf
        others = np.where(np.arange(size) == order[-1], second, top)
        return np.maximum(others, stepped + problem.shift)


class LeastCost(Utility):
    """The target utility: the least spend that meets every group's target.

    It has no aggregate of losses of its own; :meth:`aggregates` is the weighted mean loss,
    which is what a target plan reports when asked for one.
    """

    name = "target"
    form = "cost"
    needs_budget = False
    without_targets = "maximin"

    def aggregates(self, problem: AllocationProblem, losses: np.ndarray) -> np.ndarray:
        return losses @ problem.normalised_weight

    def objective(self, problem: AllocationProblem, n: np.ndarray) -> float:
        return problem.spend(n)

    def to_metric(self, problem: AllocationProblem, value: float) -> float:
        return value

    def convex_objective(self, cp, problem, loss, spend) -> tuple[Any, list, dict]:
        return spend, [], {}

    def stepped_objectives(self, problem, n, step, base, stepped) -> np.ndarray:
        return problem.spend(n) + step * problem.cost


#: Every utility, by name, in the order the documentation lists them.
UTILITIES: dict[str, Utility] = {
    rule.name: rule for rule in (Weighted(), Maximin(), PowerMean(), LeastCost())
}
#: The valid utility names.
UTILITY_NAMES: tuple[str, ...] = tuple(UTILITIES)
#: The utilities that spend a budget (every one but the target utility).
BUDGETED_UTILITY_NAMES: tuple[str, ...] = tuple(
    name for name, rule in UTILITIES.items() if rule.needs_budget
)


def utility_named(name: str) -> Utility:
    """The utility called ``name``.

    Raises
    ------
    InputError
        When no utility has that name.
    """
    try:
        return UTILITIES[name]
    except (KeyError, TypeError):
        raise InputError(
            f"utility must be one of {', '.join(UTILITY_NAMES)}; got {name!r}"
        ) from None
