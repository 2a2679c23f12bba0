"""Measuring each group's learning curve from a scikit-learn model on a user's own data.

:func:`measure_curves` does what every real study otherwise writes by hand: per group, hold out
test rows, train on nested subsamples of the group's remaining rows (own-group training) or of
every group's rows at once (pooled training), score each group on its own held-out rows, and
repeat with independent seeds. It returns the points table :func:`allocate.fit_curves` reads,
with the metric's sense.

scikit-learn is imported inside the functions, never at module import, so ``allocate.plan``
stays fast.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from allocate.curves import Sense
from allocate.errors import InputError

__all__ = ["measure_curves", "MeasuredCurves", "Metric", "resolve_metric", "sizes_from_fractions"]

Training = Literal["own", "pooled"]
#: Default nested fractions of each group's training rows (doubling, so log-spaced sizes).
DEFAULT_FRACTIONS: tuple[float, ...] = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
#: Score-sense scorers with no upper bound: ``score_max - value`` would not be a loss.
_UNBOUNDED_SCORES = ("mutual_info_score", "positive_likelihood_ratio")
#: Scorers computed against all of the model's classes: scorer name -> metric function.
_PROBABILITY_LOSSES = {"neg_log_loss": "log_loss", "neg_brier_score": "brier_score_loss"}


@dataclass(frozen=True)
class Metric:
    """A scikit-learn scorer and how its values map onto a learning curve.

    Attributes
    ----------
    name : str
        The scorer's name (``sklearn.metrics.get_scorer_names()``).
    sense : {"loss", "score"}
        ``loss`` for scorers scikit-learn negates (``neg_*``): the points hold the loss itself
        (``-score``, e.g. the log loss). ``score`` for the others (accuracy, roc_auc, r2, ...).
    score_max : float
        The best possible score (1 for every bounded scikit-learn score).
    classification : bool
        The scorer compares class labels or class probabilities.
    needs_two_classes : bool
        The scorer is undefined on test rows of a single class (roc_auc, average_precision).
    """

    name: str
    sense: Sense
    score_max: float
    classification: bool
    needs_two_classes: bool
    scorer: Any = field(repr=False, compare=False)

    def value(self, estimator, X, y) -> float:
        """The metric of ``estimator`` on ``(X, y)`` in the points table's sense.

        The log loss and the Brier score are computed against every class the model knows
        (``estimator.classes_``), so test rows of a single class (a group that is one label,
        as Slice Tuner slices MNIST by digit) still have a loss.
        """
        if self.name in _PROBABILITY_LOSSES and hasattr(estimator, "classes_"):
            from sklearn import metrics

            function = getattr(metrics, _PROBABILITY_LOSSES[self.name])
            return float(function(y, estimator.predict_proba(X), labels=estimator.classes_))
        score = float(self.scorer(estimator, X, y))
        return -score if self.sense == "loss" else score


def resolve_metric(scoring: str) -> Metric:
    """The :class:`Metric` of a scikit-learn scorer name.

    Parameters
    ----------
    scoring : str
        A name from ``sklearn.metrics.get_scorer_names()``.

    Raises
    ------
    InputError
        An unknown name (with the closest known ones), or an unbounded score.
    """
    from sklearn.metrics import (
        get_scorer,
        get_scorer_names,
    )

    names = list(get_scorer_names())
    if scoring not in names:
        close = difflib.get_close_matches(str(scoring), names, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise InputError(
            f"unknown scoring {scoring!r}{hint} (sklearn.metrics.get_scorer_names() lists "
            "every name)"
        )
    if scoring in _UNBOUNDED_SCORES:
        raise InputError(
            f"scoring {scoring!r} has no upper bound, so it cannot be read as a learning curve; "
            "choose a bounded score or a neg_* loss"
        )
    scorer = get_scorer(scoring)
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "") or ""
    response = getattr(scorer, "_response_method", "predict")
    probabilistic = response != "predict"
    sense: Sense = "loss" if getattr(scorer, "_sign", 1) < 0 else "score"
    classification = "_classification" in module or "_ranking" in module or "cluster" in module
    return Metric(
        name=scoring,
        sense=sense,
        score_max=1.0,
        classification=classification or scoring.endswith("likelihood_ratio"),
        needs_two_classes=probabilistic and scoring not in _PROBABILITY_LOSSES,
        scorer=scorer,
    )


@dataclass(frozen=True)
class MeasuredCurves:
    """Per-group learning-curve points measured from a model, and what they measure.

    Attributes
    ----------
    points : pandas.DataFrame
        The points table (``group, n, n_total, value, seed``): one row per group, training
        size and replicate; ``seed`` identifies the replicate. Read by :func:`fit_curves`.
    metric : str
        The scorer's name.
    sense : {"loss", "score"}
        The sense of ``value``: pass it to :func:`fit_curves` (or use :meth:`fit`).
    score_max : float
        The best possible score, for ``sense == "score"``.
    training : {"own", "pooled"}
        Own-group training, or one model trained on every group's subsample at once.
    test_rows : dict of str to int
        Held-out rows per group (scored, never trained on).
    pools : dict of str to int
        Rows per group available for training (the group's rows minus its test rows).
    training_runs : int
        Models trained.
    warnings : tuple of str
        Warnings the estimator raised while fitting (e.g. convergence), counted by kind.
    """

    points: pd.DataFrame
    metric: str
    sense: Sense
    score_max: float
    training: str
    test_rows: dict[str, int]
    pools: dict[str, int]
    training_runs: int = 0
    warnings: tuple[str, ...] = ()

    def fit(self, **options):
        """Fit every group's curve with :func:`allocate.fit_curves` in the metric's sense."""
        from allocate.fitting import fit_curves

        return fit_curves(self.points, sense=self.sense, score_max=self.score_max, **options)

    def to_frame(self) -> pd.DataFrame:
        """The points table (a copy)."""
        return self.points.copy()

    def summary(self) -> str:
        """Mean value per group and size, with the spread over replicates."""
        table = self.points.groupby(["group", "n"], sort=False)["value"].agg(["mean", "std"])
        lines = [
            f"Learning-curve points: {self.metric} ({self.sense}), {self.training} training, "
            f"{self.points['seed'].nunique()} replicate(s)"
        ]
        for group in dict.fromkeys(self.points["group"]):
            lines.append(
                f"  {group}: {self.test_rows[group]} test rows, {self.pools[group]} for training"
            )
            for (_, n), row in table.loc[[group]].iterrows():
                spread = "" if np.isnan(row["std"]) else f" +- {row['std']:.3g}"
                lines.append(f"    n = {int(n):<8d} {row['mean']:.4g}{spread}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def measure_curves(
    X,
    y,
    groups,
    *,
    estimator,
    scoring: str,
    sizes: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    fractions: Sequence[float] | None = None,
    training: Training = "own",
    test_size: float | int = 0.25,
    replicates: int = 3,
    seed: int = 0,
    n_jobs: int | None = 1,
    progress: Callable[[int, int], None] | None = None,
) -> MeasuredCurves:
    """Measure each group's learning curve: nested subsamples, held-out scoring, replicates.

    For each replicate, each group's rows are put in a seeded random order (stratified by
    class for a classification target, so every prefix keeps the class shares): the first
    ``test_size`` rows are the group's test rows and the rest, in that order, its training
    rows. A training size ``n`` is the first ``n`` training rows, so every smaller training set
    is a subset of every larger one. Each group is scored on its own test rows only, which no
    model ever trains on.

    Parameters
    ----------
    X : array-like or pandas.DataFrame, shape (rows, features)
        Features (a DataFrame is passed to the estimator as is, for column transformers).
    y : array-like, shape (rows,)
        Target.
    groups : array-like, shape (rows,)
        Group label of each row (compared as text).
    estimator : scikit-learn estimator or pipeline
        Cloned for every training set; a ``random_state`` left at None is set from the
        replicate's seed, so the same seed gives the same points.
    scoring : str
        A scikit-learn scorer name (``roc_auc``, ``accuracy``, ``neg_log_loss``, ``r2``...).
        ``neg_*`` scorers are reported as the loss itself (sense ``loss``), the others as
        scores (sense ``score``, best 1).
    sizes : sequence of int or mapping of group to sequence of int, optional
        Training sizes per group (the same for every group, or per group). Pooled training
        needs the same number of sizes in every group: step ``k`` trains one model on every
        group's ``k``-th size.
    fractions : sequence of float, optional
        Instead of ``sizes``: fractions in (0, 1] of each group's training rows. Default
        1/16, 1/8, 1/4, 1/2, 1.
    training : {"own", "pooled"}
        ``own``: each group's model is trained on that group's rows only. ``pooled``: one model
        per step on every group's subsample; ``n_total`` reports the pooled size.
    test_size : float or int
        Held-out rows per group: a fraction of the group's rows in (0, 1) or a number >= 2.
    replicates : int
        Independent repetitions (new split, new order, new estimator seed).
    seed : int
        Seeds every random choice.
    n_jobs : int or None
        Parallel training runs (joblib; -1 uses every core).
    progress : callable, optional
        Called as ``progress(done, total)`` after each training run.

    Returns
    -------
    MeasuredCurves
        The points table and the metric's sense; :meth:`MeasuredCurves.fit` fits the curves.

    Raises
    ------
    InputError
        Mismatched lengths, missing labels or targets, a group too small for the largest size
        plus its test rows, a single-class target for a classification scorer, an unknown
        scorer, or an estimator that fails to fit or score (the message names the group and
        the training size).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)); y = X @ [1.0, -1.0, 0.5] + rng.normal(size=400)
    >>> groups = np.repeat(["A", "B"], 200)
    >>> measured = measure_curves(X, y, groups, estimator=Ridge(), scoring="r2",
    ...                           sizes=[10, 40, 150], replicates=2)
    >>> measured.sense, measured.points.shape
    ('score', (12, 5))
    """
    data = PreparedData.from_arrays(X, y, groups)
    metric = resolve_metric(scoring)
    _check_estimator(estimator, metric)
    _check_options(training, replicates, test_size)
    data.check_classes(metric, estimator, training)
    seeds = replicate_seeds(seed, replicates)
    splits = [data.split(test_size, np.random.default_rng(s)) for s in seeds]
    data.check_test_classes(metric, splits[0])
    pools = {g: len(train) for g, (_, train) in splits[0].items()}
    tests = {g: len(t) for g, (t, _) in splits[0].items()}
    plan = _size_plan(pools, sizes, fractions, training, tests, data)
    tasks = _tasks(data, splits, seeds, plan, training)
    results = run_tasks(tasks, estimator, metric, data, n_jobs, progress)
    rows = [row for result in results for row in result.rows]
    table = pd.DataFrame(rows, columns=["group", "n", "n_total", "value", "seed"])
    order = {g: i for i, g in enumerate(data.names)}
    table = table.sort_values(
        ["group", "seed", "n"], key=lambda c: c.map(order) if c.name == "group" else c,
        kind="stable",
    ).reset_index(drop=True)
    return MeasuredCurves(
        points=table,
        metric=metric.name,
        sense=metric.sense,
        score_max=metric.score_max,
        training=training,
        test_rows=tests,
        pools=pools,
        training_runs=len(results),
        warnings=summarise_warnings(results),
    )


# --- data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedData:
    """Features, target and group labels, checked; rows of each group by index."""

    X: Any
    y: np.ndarray
    labels: np.ndarray
    names: tuple[str, ...]
    rows: dict[str, np.ndarray]
    classes: np.ndarray | None

    @classmethod
    def from_arrays(cls, X, y, groups) -> PreparedData:
        if not hasattr(X, "iloc"):
            X = np.asarray(X)
            if X.ndim != 2:
                raise InputError(f"X must be two-dimensional (rows, features); got {X.ndim}-d")
        y = np.asarray(y)
        labels = np.asarray(groups, dtype=object)
        if not len(X) == len(y) == len(labels):
            raise InputError(
                f"X, y and groups must have one entry per row; got {len(X)}, {len(y)} and "
                f"{len(labels)}"
            )
        if len(y) == 0:
            raise InputError("the data have no rows")
        _check_complete(y, "y (the target)")
        _check_complete(labels, "groups (the group labels)")
        labels = np.array([str(g).strip() for g in labels], dtype=object)
        names = tuple(dict.fromkeys(labels))
        rows = {g: np.flatnonzero(labels == g) for g in names}
        classes = None
        if _is_class_target(y):
            classes = np.unique(y)
        return cls(X, y, labels, names, rows, classes)

    def check_classes(self, metric: Metric, estimator, training: str) -> None:
        """Refuse a single-class target where the scorer or the model compares classes."""
        from sklearn.base import is_classifier

        classifying = metric.classification or is_classifier(estimator)
        if not classifying:
            return
        if self.classes is None:
            raise InputError(
                f"scoring {metric.name!r} compares classes but y is continuous; choose a "
                "regression score (r2, neg_mean_squared_error) or a class target"
            )
        if len(self.classes) < 2:
            raise InputError(
                f"y has a single class ({self.classes[0]!r}); scoring {metric.name!r} needs "
                "at least two"
            )
        if training == "own":
            for group, index in self.rows.items():
                present = np.unique(self.y[index])
                if len(present) < 2:
                    raise InputError(
                        f"group {group!r} has a single class ({present[0]!r}) in y, so a model "
                        "trained on that group alone cannot classify; use training='pooled'"
                    )

    def check_test_classes(self, metric: Metric, split: dict) -> None:
        if not metric.needs_two_classes:
            return
        for group, (test, _) in split.items():
            present = np.unique(self.y[test])
            if len(present) < 2:
                raise InputError(
                    f"group {group!r}: its test rows hold a single class ({present[0]!r}), where "
                    f"{metric.name!r} is undefined; use a metric defined on one class "
                    "(accuracy, neg_log_loss) or more test rows"
                )

    def split(self, test_size: float | int, rng: np.random.Generator) -> dict:
        """Per group: (test rows, training rows in their nested order)."""
        out = {}
        for group, index in self.rows.items():
            order = self.order(index, rng)
            count = test_count(len(index), test_size)
            out[group] = (order[:count], order[count:])
        return out

    def order(self, index: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``index`` in random order; stratified by class for a class target, so that every
        prefix holds each class in about its share."""
        permuted = rng.permutation(index)
        if self.classes is None:
            return permuted
        y = self.y[permuted]
        key = np.empty(len(permuted))
        for value in np.unique(y):
            where = np.flatnonzero(y == value)
            key[where] = (np.arange(len(where)) + rng.uniform(size=len(where))) / len(where)
        return permuted[np.argsort(key, kind="stable")]

    def take(self, index: np.ndarray):
        return self.X.iloc[index] if hasattr(self.X, "iloc") else self.X[index]

    def non_numeric_features(self) -> list[str]:
        if hasattr(self.X, "dtypes"):
            return [
                str(c) for c, t in self.X.dtypes.items()
                if not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t))
            ]  # fmt: skip
        return [] if np.issubdtype(self.X.dtype, np.number) else ["(every column)"]


def test_count(rows: int, test_size: float | int) -> int:
    """Test rows of a group with ``rows`` rows: a fraction (rounded up) or a fixed count."""
    if isinstance(test_size, float) and test_size < 1:
        return max(2, int(np.ceil(test_size * rows)))
    return int(test_size)


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """One integer seed per replicate, derived from ``seed``."""
    sequence = np.random.SeedSequence(int(seed))
    return [int(child.generate_state(1)[0]) for child in sequence.spawn(int(replicates))]


def _is_class_target(y: np.ndarray) -> bool:
    from sklearn.utils.multiclass import type_of_target

    try:
        kind = type_of_target(y)
    except ValueError:
        return False
    return kind in ("binary", "multiclass")


def _check_complete(values: np.ndarray, what: str) -> None:
    missing = pd.isna(pd.Series(values)).to_numpy()
    if missing.any():
        raise InputError(
            f"{what} has {int(missing.sum())} missing value(s), first at row "
            f"{int(np.flatnonzero(missing)[0]) + 1}; drop or fill those rows"
        )


def _check_estimator(estimator, metric: Metric) -> None:
    from sklearn.metrics import check_scoring

    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise InputError(
            f"estimator must be a scikit-learn estimator or pipeline (with fit and get_params); "
            f"got {type(estimator).__name__}"
        )
    try:
        check_scoring(estimator, scoring=metric.name)
    except (TypeError, ValueError) as error:
        raise InputError(f"estimator cannot be scored with {metric.name!r}: {error}") from None


def _check_options(training: str, replicates: int, test_size: float | int) -> None:
    if training not in ("own", "pooled"):
        raise InputError(f"training must be 'own' or 'pooled'; got {training!r}")
    if isinstance(replicates, bool) or int(replicates) != replicates or replicates < 1:
        raise InputError(f"replicates must be a whole number >= 1; got {replicates}")
    fraction = isinstance(test_size, float) and 0 < test_size < 1
    whole = (
        not isinstance(test_size, bool) and float(test_size) == int(test_size) and test_size >= 2
    )
    if not (fraction or whole):
        raise InputError(
            f"test_size must be a fraction in (0, 1) or a number of rows >= 2; got {test_size}"
        )


# --- sizes ----------------------------------------------------------------------------------


def sizes_from_fractions(
    largest: Mapping[str, int], fractions: Sequence[float] | None = None
) -> dict[str, list[int]]:
    """The training sizes that fractions of each group's largest training set give.

    :func:`measure_curves` trains at these sizes when it is given ``fractions`` (the largest
    training set of a group is its rows less its test rows), so this shows the sizes a
    measurement would use before it runs.

    Parameters
    ----------
    largest : mapping of str to int
        Each group's largest training set.
    fractions : sequence of float, optional
        Fractions in (0, 1] (default 1/16, 1/8, 1/4, 1/2, 1).

    Returns
    -------
    dict of str to list of int
        Per group, ``floor(fraction * largest)`` for each fraction, ascending, each size once
        (the fractions of a small set can give the same size).

    Raises
    ------
    InputError
        No fraction, or one outside (0, 1].

    Examples
    --------
    >>> sizes_from_fractions({"A": 200, "B": 45}, [0.25, 0.5, 1])
    {'A': [50, 100, 200], 'B': [11, 22, 45]}
    """
    fractions = DEFAULT_FRACTIONS if fractions is None else tuple(fractions)
    if not fractions or any(not 0 < float(f) <= 1 for f in fractions):
        raise InputError(f"fractions must lie in (0, 1]; got {list(fractions)}")
    return {g: sorted({int(np.floor(float(f) * n)) for f in fractions}) for g, n in largest.items()}


def _size_plan(pools, sizes, fractions, training, tests, data) -> dict[str, list[int]]:
    """Training sizes per group, checked against the group's training rows."""
    if sizes is not None and fractions is not None:
        raise InputError("give sizes or fractions, not both")
    if sizes is None:
        plan = sizes_from_fractions(pools, fractions)
    elif isinstance(sizes, Mapping):
        unknown = sorted(set(map(str, sizes)) - set(pools))
        if unknown:
            raise InputError(f"sizes name group(s) not in the data: {', '.join(unknown)}")
        missing = [g for g in pools if g not in {str(k) for k in sizes}]
        if missing:
            raise InputError(f"sizes has no entry for group(s) {', '.join(missing)}")
        by_name = {str(k): v for k, v in sizes.items()}
        plan = {g: _whole_sizes(by_name[g]) for g in pools}
    else:
        common = _whole_sizes(sizes)
        plan = {g: list(common) for g in pools}
    for group, wanted in plan.items():
        if min(wanted) < 1:
            raise InputError(
                f"group {group!r} has {pools[group]} training rows; the smallest fraction gives "
                "no training row; use larger fractions or explicit sizes"
            )
        if max(wanted) > pools[group]:
            raise InputError(
                f"group {group!r} has {len(data.rows[group])} rows: {tests[group]} test rows "
                f"leave {pools[group]} for training, fewer than the largest size asked, "
                f"{max(wanted)}; ask for smaller sizes or a smaller test_size"
            )
    if training == "pooled" and len({len(v) for v in plan.values()}) > 1:
        raise InputError(
            "pooled training trains one model per step on every group's k-th size, so every "
            "group needs the same number of sizes; give sizes, or fractions of larger groups"
        )
    return plan


def _whole_sizes(values) -> list[int]:
    values = list(values)
    if not values:
        raise InputError("sizes must list at least one training size")
    out = []
    for value in values:
        if isinstance(value, bool) or float(value) != int(value) or value < 1:
            raise InputError(f"sizes must be whole numbers >= 1; got {value!r}")
        out.append(int(value))
    if len(set(out)) != len(out):
        raise InputError(f"sizes must be distinct; got {values}")
    return sorted(out)


# --- training runs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingRun:
    """One model to train and the groups it is scored on.

    ``train`` are row indices; ``tests`` maps each scored group to its test rows; ``sizes``
    holds each group's own training size in ``train``.
    """

    train: np.ndarray
    tests: dict[str, np.ndarray]
    sizes: dict[str, int]
    seed: int
    label: str


@dataclass(frozen=True)
class RunResult:
    rows: list[tuple]
    warnings: dict[str, int]
    error: str | None = None
    label: str = ""


def _tasks(data, splits, seeds, plan, training) -> list[TrainingRun]:
    tasks = []
    for split, seed in zip(splits, seeds, strict=True):
        if training == "own":
            for group in data.names:
                test, train = split[group]
                for n in plan[group]:
                    tasks.append(TrainingRun(
                        train[:n], {group: test}, {group: n}, seed,
                        f"group {group!r} at size {n} (own-group training)",
                    ))  # fmt: skip
        else:
            for step in range(len(plan[data.names[0]])):
                sizes = {g: plan[g][step] for g in data.names}
                train = np.concatenate([split[g][1][: sizes[g]] for g in data.names])
                shown = ", ".join(f"{g} {n}" for g, n in sizes.items())
                tasks.append(TrainingRun(
                    train, {g: split[g][0] for g in data.names}, sizes, seed,
                    f"pooled training at sizes {shown}",
                ))  # fmt: skip
    return tasks


def run_tasks(tasks, estimator, metric, data, n_jobs, progress) -> list[RunResult]:
    """Train and score every run (in parallel with joblib); raise on the first failure."""
    from joblib import Parallel, delayed

    results = []
    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    jobs = (delayed(train_and_score)(task, estimator, metric, data) for task in tasks)
    for done, result in enumerate(runner(jobs), start=1):
        if result.error is not None:
            raise InputError(_failure_message(result, data))
        results.append(result)
        if progress is not None:
            progress(done, len(tasks))
    return results


def train_and_score(task: TrainingRun, estimator, metric: Metric, data: PreparedData):
    """Fit a clone of ``estimator`` on ``task.train`` and score each group on its test rows."""
    caught: dict[str, int] = {}
    with warnings.catch_warnings(record=True) as raised:
        warnings.simplefilter("always")
        try:
            model = seeded_clone(estimator, task.seed)
            model.fit(data.take(task.train), data.y[task.train])
        except Exception as error:  # the estimator's own failure, reported with its context
            return RunResult([], {}, f"failed to fit: {_one_line(error)}", task.label)
        rows = []
        n_total = float(len(task.train))
        for group, test in task.tests.items():
            try:
                value = metric.value(model, data.take(test), data.y[test])
            except Exception as error:
                return RunResult([], {}, f"failed to score {group!r}: {_one_line(error)}",
                                 task.label)
            if not np.isfinite(value):
                return RunResult([], {}, f"scoring {group!r} gave {value}", task.label)
            rows.append((group, float(task.sizes[group]), n_total, value, task.seed))
    for warning in raised:
        text = str(warning.message).strip().splitlines()
        kind = f"{warning.category.__name__}: {text[0] if text else ''}"
        caught[kind] = caught.get(kind, 0) + 1
    return RunResult(rows, caught, None, task.label)


def seeded_clone(estimator, seed: int):
    """A clone of ``estimator`` with every ``random_state`` left at None set to ``seed``."""
    from sklearn.base import clone

    model = clone(estimator)
    unset = {
        name: seed % 2**31
        for name, value in model.get_params(deep=True).items()
        if name.split("__")[-1] == "random_state" and value is None
    }
    if unset:
        model.set_params(**unset)
    return model


def summarise_warnings(results: Sequence[RunResult]) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for result in results:
        for kind, count in result.warnings.items():
            counts[kind] = counts.get(kind, 0) + count
    total = len(results)
    return tuple(f"{kind[:160]} ({count} times in {total} training runs)"
                 for kind, count in counts.items())


def _failure_message(result: RunResult, data: PreparedData) -> str:
    message = f"the estimator {result.error} for {result.label}"
    text = data.non_numeric_features()
    if text and ("convert" in result.error or "dtype" in result.error or "str" in result.error):
        shown = ", ".join(text[:5]) + (" ..." if len(text) > 5 else "")
        message += (
            f"; non-numeric feature(s) {shown}: encode them, or pass a pipeline that does "
            "(e.g. a ColumnTransformer with OneHotEncoder)"
        )
    return message


def _one_line(error: Any) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
