"""Estimators with known behaviour for the tests of measuring learning curves."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

#: Every (training ids, scored ids, random_state) a RecordingRegressor saw, in order.
RECORD: list[tuple[frozenset, frozenset, int | None]] = []


class RecordingRegressor(RegressorMixin, BaseEstimator):
    """Predicts the training mean; records which rows (column 0 holds a row id) it saw."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        self.trained_ids_ = frozenset(np.asarray(X)[:, 0].astype(int).tolist())
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        ids = frozenset(np.asarray(X)[:, 0].astype(int).tolist())
        RECORD.append((self.trained_ids_, ids, self.random_state))
        return np.full(len(X), self.mean_)


class FailsAtSize(RegressorMixin, BaseEstimator):
    """Predicts the training mean, but refuses to fit exactly ``size`` rows."""

    def __init__(self, size=40):
        self.size = size

    def fit(self, X, y):
        if len(X) == self.size:
            raise ValueError(f"cannot fit {self.size} rows")
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def failing_model():
    """A ``module:factory`` for the command line: fails on 40 rows."""
    return FailsAtSize(size=40)


def mean_data(sigmas: dict[str, float], rows: int, seed: int = 0):
    """Rows ``y = mu_g + sigma_g e`` with a row id as the only feature.

    A model predicting the training mean of ``n`` rows has expected held-out squared error
    ``sigma^2 (1 + 1/n)``: the learning curve ``c + a n^-b`` with ``a = c = sigma^2``, ``b = 1``.
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(list(sigmas), rows)
    centre = {g: float(i) for i, g in enumerate(sigmas)}
    y = np.array([centre[g] for g in labels]) + np.array([sigmas[g] for g in labels]) * (
        rng.standard_normal(len(labels))
    )
    X = np.arange(len(labels), dtype=float)[:, None]
    return X, y, labels


def recorded_measure(sigmas: dict[str, float], rows: int, data_seed: int, *,
                     scoring: str = "neg_mean_squared_error", **options):
    """``measure_curves`` of a :class:`RecordingRegressor` on ``mean_data(sigmas, rows,
    data_seed)``, with :data:`RECORD` emptied first so that it then holds every fit of this
    run; returns the result and the group of each row id."""
    from allocate import measure_curves

    RECORD.clear()
    X, y, labels = mean_data(sigmas, rows=rows, seed=data_seed)
    measured = measure_curves(X, y, labels, estimator=RecordingRegressor(), scoring=scoring,
                              **options)  # fmt: skip
    return measured, dict(enumerate(labels))
