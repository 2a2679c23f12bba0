"""How well a score serves a group: R^2, AUC and the decision utility of docs/method.md.

The decision utility: a score is Platt-scaled to a probability by a logistic regression fitted
on calibration data (a case-control sample reweighted so cases make up ``prevalence``); a
person is treated when ``benefit * p - cost > 0``; each treated person scores
``benefit * y - cost`` (untreated: 0), averaged over the group's test set. Treating nobody or
everybody scores 0 in expectation at ``prevalence * benefit = cost``; a perfect classifier scores
``prevalence * (benefit - cost)`` (4.75 per person at 5%, benefit 100, cost 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from allocate import InputError

__all__ = [
    "r_squared", "auc", "PlattScaling", "fit_platt", "decision_utility", "r_squared_interval",
    "auc_interval",
]  # fmt: skip


def r_squared(score: np.ndarray, target: np.ndarray) -> float:
    """Squared Pearson correlation (0 when either side is constant)."""
    score, target = np.asarray(score, float), np.asarray(target, float)
    if score.std() == 0 or target.std() == 0:
        return 0.0
    return float(np.corrcoef(score, target)[0, 1] ** 2)


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count one half); NaN without both classes."""
    label = np.asarray(label).astype(bool)
    positives, negatives = int(label.sum()), int((~label).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = stats.rankdata(score)
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def r_squared_interval(r2: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a squared correlation measured on ``n`` people.

    Fisher's z-transform of the (non-negative) correlation, ``atanh(r) +/- z / sqrt(n - 3)``,
    squared back; the lower end is 0 when the interval for ``r`` reaches 0. NaN for ``n < 4``.
    """
    if n < 4 or not np.isfinite(r2):
        return float("nan"), float("nan")
    half = stats.norm.ppf(0.5 + level / 2) / np.sqrt(n - 3)
    centre = np.arctanh(min(np.sqrt(max(r2, 0.0)), 1 - 1e-15))
    low, high = np.tanh(centre - half), np.tanh(centre + half)
    return float(max(low, 0.0) ** 2), float(high**2)


def auc_interval(
    value: float, cases: int, controls: int, level: float = 0.95
) -> tuple[float, float]:
    """Confidence interval of an AUC from ``cases`` and ``controls`` (Hanley and McNeil 1982).

    The standard error is Hanley and McNeil's, with ``Q1 = A / (2 - A)`` and
    ``Q2 = 2 A^2 / (1 + A)``; the interval is the normal one, cut to [0, 1].
    """
    if cases < 1 or controls < 1 or not np.isfinite(value):
        return float("nan"), float("nan")
    a = float(value)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    variance = (a * (1 - a) + (cases - 1) * (q1 - a * a) + (controls - 1) * (q2 - a * a)) / (
        cases * controls
    )
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(max(variance, 0.0))
    return float(max(a - half, 0.0)), float(min(a + half, 1.0))


@dataclass(frozen=True)
class PlattScaling:
    """``p = 1 / (1 + exp(-(intercept + slope * score)))``."""

    intercept: float
    slope: float

    def probability(self, score: np.ndarray) -> np.ndarray:
        return special.expit(self.intercept + self.slope * np.asarray(score, float))


def fit_platt(score: np.ndarray, label: np.ndarray, *, prevalence: float) -> PlattScaling:
    """Weighted logistic regression of ``label`` on ``score``, cases reweighted to ``prevalence``.

    Raises
    ------
    InputError
        Without both cases and controls.
    """
    score, label = np.asarray(score, float), np.asarray(label, float)
    cases = label.sum()
    if cases == 0 or cases == label.size:
        raise InputError("Platt scaling needs both cases and controls in the calibration set")
    weight = np.where(label == 1, prevalence / cases, (1 - prevalence) / (label.size - cases))
    design = np.column_stack([np.ones_like(score), score])
    theta = np.array([np.log(prevalence / (1 - prevalence)), 0.0])
    for _ in range(100):
        prob = special.expit(design @ theta)
        gradient = design.T @ (weight * (label - prob))
        hessian = (design * (weight * prob * (1 - prob))[:, None]).T @ design
        step = np.linalg.solve(hessian + 1e-12 * np.eye(2), gradient)
        theta += step
        if np.abs(step).max() < 1e-10:
            break
    return PlattScaling(float(theta[0]), float(theta[1]))


def decision_utility(
    probability: np.ndarray, label: np.ndarray, *, benefit: float = 100.0, cost: float = 5.0
) -> float:
    """Average of ``treat * (benefit * y - cost)`` with ``treat = benefit * p - cost > 0``.

    ``label`` is each person's outcome (1 case, 0 control) or, for the expected utility, each
    person's chance of being a case.
    """
    treat = benefit * np.asarray(probability, float) - cost > 0
    return float(np.mean(treat * (benefit * np.asarray(label, float) - cost)))
