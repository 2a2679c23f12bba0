"""Per-variant association scans from additive sufficient statistics.

For each group and variant the scan keeps ``sum x``, ``sum x^2``, ``sum x y`` and ``sum x^2 y``
(``x`` the 0/1/2 dosage), and per group ``n``, ``sum y`` and ``sum y^2``. Because a dosage takes
three values these determine, per group and variant, the count and the phenotype sum of each
genotype class, which is all that linear regression (one variant, group intercepts) and
logistic regression need. The statistics add: growing a training set costs only the new
samples (:meth:`ScanStatistics.add`), and a scan of the union of two sets is the sum.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from allocate import InputError

__all__ = ["ScanStatistics", "AssociationResult", "meta_analyse", "Test"]

Test = Literal["linear", "logistic"]
_CHUNK = 2048


@dataclass(frozen=True, eq=False)
class ScanStatistics:
    """Additive sufficient statistics of an association scan, per group x variant.

    Create an empty one with :meth:`empty`; :meth:`add` returns a new object with samples added.
    """

    groups: tuple[str, ...]
    n: np.ndarray  # (groups,)
    sum_y: np.ndarray  # (groups,)
    sum_y2: np.ndarray  # (groups,)
    sum_x: np.ndarray  # (groups, variants)
    sum_x2: np.ndarray
    sum_xy: np.ndarray
    sum_x2y: np.ndarray

    @classmethod
    def empty(cls, groups: tuple[str, ...], num_variants: int) -> ScanStatistics:
        shape = (len(groups), num_variants)
        zeros = np.zeros(len(groups))
        return cls(
            tuple(groups), zeros, zeros.copy(), zeros.copy(),
            *(np.zeros(shape) for _ in range(4)),
        )  # fmt: skip

    @classmethod
    def stacked(
        cls, groups: tuple[str, ...], parts: dict[str, ScanStatistics], num_variants: int
    ) -> ScanStatistics:
        """Statistics of ``groups`` whose rows are the single-group ``parts`` (zero for a group
        without one)."""
        combined = cls.empty(groups, num_variants)
        for k, group in enumerate(groups):
            part = parts.get(group)
            if part is None:
                continue
            for name in ("n", "sum_y", "sum_y2"):
                getattr(combined, name)[k] = getattr(part, name)[0]
            for name in ("sum_x", "sum_x2", "sum_xy", "sum_x2y"):
                getattr(combined, name)[k] = getattr(part, name)[0]
        return combined

    @property
    def num_variants(self) -> int:
        return self.sum_x.shape[1]

    def add(self, group: str, dosages: np.ndarray, y: np.ndarray) -> ScanStatistics:
        """New statistics with ``dosages`` (samples x variants) and ``y`` added to ``group``.

        The cost is one pass over the new samples only.
        """
        k = self._group_index(group)
        y = np.asarray(y, dtype=np.float64)
        if dosages.shape != (y.size, self.num_variants):
            raise InputError(
                f"dosages must be samples x {self.num_variants} variants with one phenotype per "
                f"sample; got {dosages.shape} and {y.size} phenotypes"
            )
        sums = np.zeros((4, self.num_variants))
        # Whole-number phenotypes (0/1 cases) with every partial sum below 2^24: float32 sums
        # are exact, so equal to float64's, at half the memory traffic.
        largest = max(1.0, float(np.abs(y).max(initial=0)))
        exact = np.array_equal(y, np.round(y)) and 4 * y.size * largest < 2**24
        dtype = np.float32 if exact else np.float64
        weights = np.column_stack([np.ones_like(y), y]).astype(dtype)
        for start in range(0, self.num_variants, _CHUNK):
            block = np.asarray(dosages[:, start : start + _CHUNK], dtype=dtype)
            linear = block.T @ weights
            square = (block * block).T @ weights
            columns = slice(start, start + block.shape[1])
            sums[0, columns], sums[2, columns] = linear[:, 0], linear[:, 1]
            sums[1, columns], sums[3, columns] = square[:, 0], square[:, 1]
        return self._added(k, y, sums)

    def add_store(self, group: str, store, rows: np.ndarray, y: np.ndarray) -> ScanStatistics:
        """New statistics with individuals ``rows`` of a genotype ``store`` and their ``y``
        added to ``group``: :meth:`add` of ``store.read(rows, every variant)``, from the
        store's packed bytes without decoding the dosages
        (:meth:`simulate.store.GenotypeStore.scan_sums`).

        Counts and whole-number phenotypes (0/1 cases) give the same numbers as :meth:`add`;
        sums of other phenotypes are added in another order, so equal to rounding.
        """
        k = self._group_index(group)
        y = np.asarray(y, dtype=np.float64)
        if store.shape[1] != self.num_variants:
            raise InputError(f"the store holds {store.shape[1]} variants; the scan has "
                             f"{self.num_variants}")  # fmt: skip
        return self._added(k, y, store.scan_sums(rows, y))

    def _group_index(self, group: str) -> int:
        if group not in self.groups:
            raise InputError(f"the scan has no group {group!r}; it has {', '.join(self.groups)}")
        return self.groups.index(group)

    def _added(self, k: int, y: np.ndarray, sums: np.ndarray) -> ScanStatistics:
        """These statistics with samples ``y`` and their dosage sums (4 x variants: ``sum x``,
        ``sum x^2``, ``sum x y``, ``sum x^2 y``) added to group ``k``."""
        matrices = [a.copy() for a in (self.sum_x, self.sum_x2, self.sum_xy, self.sum_x2y)]
        for matrix, new in zip(matrices, sums, strict=True):
            matrix[k] += new
        n, sum_y, sum_y2 = self.n.copy(), self.sum_y.copy(), self.sum_y2.copy()
        n[k] += y.size
        sum_y[k] += y.sum()
        sum_y2[k] += (y * y).sum()
        return replace(
            self, n=n, sum_y=sum_y, sum_y2=sum_y2,
            sum_x=matrices[0], sum_x2=matrices[1], sum_xy=matrices[2], sum_x2y=matrices[3],
        )  # fmt: skip

    def __add__(self, other: ScanStatistics) -> ScanStatistics:
        if self.groups != other.groups or self.num_variants != other.num_variants:
            raise InputError("only scans of the same groups and variants can be added")
        fields = ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy", "sum_x2y")
        return replace(self, **{f: getattr(self, f) + getattr(other, f) for f in fields})

    def only(self, groups: tuple[str, ...]) -> ScanStatistics:
        """The statistics restricted to ``groups`` (others zeroed)."""
        keep = np.array([g in groups for g in self.groups], dtype=float)
        fields = ("n", "sum_y", "sum_y2")
        matrices = ("sum_x", "sum_x2", "sum_xy", "sum_x2y")
        values = {f: getattr(self, f) * keep for f in fields}
        values |= {f: getattr(self, f) * keep[:, None] for f in matrices}
        return replace(self, **values)

    def _columns(self, variants: np.ndarray) -> ScanStatistics:
        matrices = ("sum_x", "sum_x2", "sum_xy", "sum_x2y")
        return replace(self, **{f: getattr(self, f)[:, variants] for f in matrices})

    def allele_frequency(self) -> np.ndarray:
        """Derived-allele frequency of every variant over all samples in the statistics."""
        total = self.n.sum()
        return self.sum_x.sum(axis=0) / (2 * total) if total else np.full(self.num_variants, 0.5)

    def genotype_classes(self) -> tuple[np.ndarray, np.ndarray]:
        """Per group, variant and dosage class 0/1/2: sample counts and phenotype sums."""
        count2 = (self.sum_x2 - self.sum_x) / 2
        count1 = self.sum_x - 2 * count2
        count0 = self.n[:, None] - count1 - count2
        y2 = (self.sum_x2y - self.sum_xy) / 2
        y1 = self.sum_xy - 2 * y2
        y0 = self.sum_y[:, None] - y1 - y2
        return np.stack([count0, count1, count2], axis=-1), np.stack([y0, y1, y2], axis=-1)

    def scan(self, test: Test = "linear", variants: np.ndarray | None = None) -> AssociationResult:
        """Test every variant (or only ``variants``): ``y ~ group intercepts + beta x``.

        ``linear``: ordinary least squares, t-test with ``n - groups - 1`` degrees of freedom.
        ``logistic``: maximum likelihood for a 0/1 ``y`` (Newton's method on the genotype-class
        tables), Wald z-test; ``beta`` is the log odds ratio per allele. With ``variants``
        (indices), the result still has one entry per variant, NaN for those not tested.
        """
        if variants is not None:
            variants = np.asarray(variants, dtype=np.intp)
            return self._columns(variants).scan(test).placed(variants, self.num_variants)
        if test == "linear":
            return _linear(self)
        if test == "logistic":
            return _logistic(self)
        raise InputError(f"test must be 'linear' or 'logistic'; got {test!r}")


@dataclass(frozen=True, eq=False)
class AssociationResult:
    """Per-variant effect estimates, standard errors and p-values (NaN where untestable)."""

    beta: np.ndarray
    se: np.ndarray
    p: np.ndarray
    n: int
    test: str

    def placed(self, variants: np.ndarray, num_variants: int) -> AssociationResult:
        """This result of a scan of ``variants`` spread over all ``num_variants`` (NaN
        elsewhere)."""
        arrays = []
        for values in (self.beta, self.se, self.p):
            full = np.full(num_variants, np.nan)
            full[variants] = values
            arrays.append(full)
        return replace(self, beta=arrays[0], se=arrays[1], p=arrays[2])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"beta": self.beta, "se": self.se, "p": self.p})

    def summary(self) -> str:
        testable = np.isfinite(self.p)
        return (
            f"{self.test} scan of {self.beta.size} variants on {self.n} samples; "
            f"{int(testable.sum())} testable, {int((self.p[testable] < 5e-8).sum())} at p < 5e-8"
        )

    def to_dict(self) -> dict:
        return {"test": self.test, "n": self.n, "variants": int(self.beta.size)}


def _active(statistics: ScanStatistics) -> np.ndarray:
    return statistics.n > 0


def _linear(statistics: ScanStatistics) -> AssociationResult:
    active = _active(statistics)
    n = statistics.n[active][:, None]
    sum_x, sum_y = statistics.sum_x[active], statistics.sum_y[active][:, None]
    sxx = (statistics.sum_x2[active] - sum_x**2 / n).sum(axis=0)
    sxy = (statistics.sum_xy[active] - sum_x * sum_y / n).sum(axis=0)
    syy = (statistics.sum_y2[active][:, None] - sum_y**2 / n).sum(axis=0)
    df = statistics.n.sum() - active.sum() - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = sxy / sxx
        residual = np.maximum(syy - beta * sxy, 0.0) / df
        se = np.sqrt(residual / sxx)
        t = beta / se
    testable = (sxx > 1e-9 * np.maximum(statistics.n.sum(), 1)) & (df > 0)
    p = np.where(testable, 2 * stats.t.sf(np.abs(t), df), np.nan)
    return AssociationResult(
        np.where(testable, beta, np.nan), np.where(testable, se, np.nan), p,
        int(statistics.n.sum()), "linear",
    )  # fmt: skip


def _logistic(statistics: ScanStatistics, iterations: int = 50) -> AssociationResult:
    """Logistic regression per variant with one intercept per group, from class tables.

    Newton steps run only on the variants that have not yet converged, which is most of the
    cost saved: nearly all variants converge in a handful of steps.
    """
    active = _active(statistics)
    counts, cases = statistics.genotype_classes()
    counts, cases = counts[active], cases[active]  # (G, V, 3)
    groups, variants = counts.shape[0], counts.shape[1]
    tables = _ClassTables.of(counts, cases)
    rate = np.clip(statistics.sum_y[active] / statistics.n[active], 1e-6, 1 - 1e-6)
    theta = np.zeros((variants, groups + 1))
    theta[:, :groups] = np.log(rate / (1 - rate))
    # One dosage class in every group: the slope is confounded with the group intercepts
    # (the linear scan's zero within-group variance; plink2 skips constant-dosage variants).
    constant = ((counts > 0).sum(axis=-1) <= 1).all(axis=0)
    converged = np.zeros(variants, dtype=bool)
    stopped = constant.copy()  # untestable from the start, or separated (slope running off)
    todo = np.flatnonzero(~stopped)  # the variants still stepping, and their own copies:
    working, current = tables.subset(todo), theta[todo]  # finished ones are dropped as they go
    for _ in range(iterations):
        if todo.size == 0:
            break
        gradient, hessian = working.newton_terms(current)
        step = (_inverse(hessian) @ gradient[..., None])[..., 0]
        current += step
        largest = np.abs(step[:, 0])
        for column in range(1, groups + 1):
            np.maximum(largest, np.abs(step[:, column]), out=largest)
        done = largest < 1e-8  # quadratic: theta is good to 1e-16
        separated = np.abs(current[:, groups]) > _SEPARATED
        converged[todo], stopped[todo] = done, separated
        finished = done | separated
        if finished.any():
            theta[todo[finished]] = current[finished]
            going = ~finished
            todo, working, current = todo[going], working.subset(going), current[going]
    theta[todo] = current  # out of iterations: neither converged nor stopped
    _, hessian = tables.newton_terms(theta)
    with np.errstate(divide="ignore", invalid="ignore"):
        covariance = _inverse(hessian)
        se = np.sqrt(covariance[:, groups, groups])
        beta = theta[:, groups]
        z = beta / se
    testable = converged & np.isfinite(z) & ~constant
    p = np.where(testable, 2 * stats.norm.sf(np.abs(z)), np.nan)
    return AssociationResult(
        np.where(testable, beta, np.nan), np.where(testable, se, np.nan), p,
        int(statistics.n.sum()), "logistic",
    )  # fmt: skip


_DOSAGE_CLASSES = np.array([0.0, 1.0, 2.0])
#: A slope past this log odds ratio per allele (e^30) means the cases and controls separate:
#: Newton would run on towards infinity, and the variant is reported untestable.
_SEPARATED = 30.0


class _ClassTables:
    """The genotype-class tables of a logistic scan, giving Newton's terms for any variants.

    With one group (the common case: a score trained on one group) the three classes are kept
    as separate contiguous columns and the terms are computed from them directly, several
    times faster than on (groups, variants, 3) stacks, with the same operations in the same
    order, so the same bits.
    """

    def __init__(self, counts, cases, columns: list | None = None) -> None:
        self.counts, self.cases, self.columns = counts, cases, columns

    @classmethod
    def of(cls, counts: np.ndarray, cases: np.ndarray) -> _ClassTables:
        """The tables of (groups, variants, 3) class counts and case counts."""
        if counts.shape[0] != 1:
            return cls(counts, cases)
        return cls(None, None, [np.ascontiguousarray(t[0, :, k]) for t in (counts, cases)
                                for k in range(3)])  # fmt: skip

    def subset(self, variants: np.ndarray) -> _ClassTables:
        """The tables of ``variants`` (indices or a boolean mask)."""
        if self.columns is None:
            return _ClassTables(self.counts[:, variants], self.cases[:, variants])
        return _ClassTables(None, None, [column[variants] for column in self.columns])

    def newton_terms(self, theta: np.ndarray):
        """Gradient and Hessian at ``theta`` (one row per variant of the tables)."""
        if self.columns is None:
            return _newton_terms(theta, self.counts, self.cases)
        return _one_group_newton_terms(theta, self.columns[:3], self.columns[3:])


def _one_group_newton_terms(theta, counts, cases) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_newton_terms` of one group from per-class columns (three count and three case
    arrays), bit for bit: numpy sums a length-3 axis left to right, and a zero class term is
    written out where the stacked form has one."""
    intercept, slope = theta[:, 0], theta[:, 1]
    residual, weight = [], []
    for dosage, count, case in zip(_DOSAGE_CLASSES, counts, cases, strict=True):
        prob = 1 / (1 + np.exp(-(intercept + slope * dosage)))
        residual.append(case - count * prob)
        weight.append(count * prob * (1 - prob))
    gradient = np.empty((theta.shape[0], 2))
    gradient[:, 0] = (residual[0] + residual[1]) + residual[2]
    gradient[:, 1] = (residual[0] * 0.0 + residual[1] * 1.0) + residual[2] * 2.0
    hessian = np.empty((theta.shape[0], 2, 2))
    hessian[:, 0, 0] = ((weight[0] + weight[1]) + weight[2]) + 1e-12
    hessian[:, 0, 1] = ((weight[0] * 0.0 + weight[1] * 1.0) + weight[2] * 2.0) + 0.0
    hessian[:, 1, 0] = hessian[:, 0, 1]
    hessian[:, 1, 1] = ((weight[0] * 0.0 + weight[1] * 1.0) + weight[2] * 4.0) + 1e-12
    return gradient, hessian


def _inverse(matrices: np.ndarray) -> np.ndarray:
    """Inverses of a stack of symmetric matrices; 2 x 2 (one group) in closed form, which is
    several times faster than numpy's batched LAPACK calls on tiny matrices."""
    if matrices.shape[-1] != 2:
        return np.linalg.inv(matrices)
    a, b, d = matrices[:, 0, 0], matrices[:, 0, 1], matrices[:, 1, 1]
    determinant = a * d - b * b
    inverse = np.empty_like(matrices)
    inverse[:, 0, 0], inverse[:, 1, 1] = d / determinant, a / determinant
    inverse[:, 0, 1] = inverse[:, 1, 0] = -b / determinant
    return inverse


def _newton_terms(theta, counts, cases) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian of the log-likelihood of each variant's model at ``theta``
    (variants x (groups + 1): the group intercepts, then the slope)."""
    groups, variants = counts.shape[0], counts.shape[1]
    dosage = _DOSAGE_CLASSES
    eta = theta[:, :groups].T[:, :, None] + theta[:, groups][None, :, None] * dosage
    prob = 1 / (1 + np.exp(-eta))  # (G, V, 3)
    residual = cases - counts * prob
    weight = counts * prob * (1 - prob)
    gradient = np.empty((variants, groups + 1))
    gradient[:, :groups] = residual.sum(axis=2).T
    gradient[:, groups] = (residual * dosage).sum(axis=(0, 2))
    hessian = np.zeros((variants, groups + 1, groups + 1))
    for g in range(groups):
        hessian[:, g, g] = weight[g].sum(axis=1)
        hessian[:, g, groups] = hessian[:, groups, g] = (weight[g] * dosage).sum(axis=1)
    hessian[:, groups, groups] = (weight * dosage**2).sum(axis=(0, 2))
    hessian += np.eye(groups + 1) * 1e-12
    return gradient, hessian


def meta_analyse(results: list[AssociationResult]) -> AssociationResult:
    """Fixed-effects inverse-variance meta-analysis of per-group scans (z-test).

    A variant untestable in some scan is combined over the scans where it is testable.
    """
    if not results:
        raise InputError("meta-analysis needs at least one scan")
    beta = np.stack([r.beta for r in results])
    se = np.stack([r.se for r in results])
    weight = np.where(np.isfinite(se) & np.isfinite(beta), 1 / se**2, 0.0)
    total = weight.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        combined = np.nansum(np.where(weight > 0, beta, 0.0) * weight, axis=0) / total
        combined_se = np.sqrt(1 / total)
    testable = total > 0
    p = np.where(testable, 2 * stats.norm.sf(np.abs(combined / combined_se)), np.nan)
    return AssociationResult(
        np.where(testable, combined, np.nan), np.where(testable, combined_se, np.nan), p,
        sum(r.n for r in results), f"meta-{results[0].test}",
    )  # fmt: skip
