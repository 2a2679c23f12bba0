"""Where a study's records live: the storage interface, and the backend that keeps them in memory.

A study (:class:`allocate.study.Study`) keeps its definition and, per numbered batch, what was
asked, the curves fitted to plan it, what was collected and what was measured. Storage is behind
a small interface, in the manner of optuna's ``BaseStorage``: a backend offers a read session
and a write session, each one transaction; the study's logic (seeding, proposal checks,
measurement checks) lives in :class:`~allocate.study.Study` and is the same for every backend.

- :class:`InMemoryStorage` (here): for simulations and notebooks; nothing touches the disk.
- :class:`allocate.study_sqlite.SQLiteStorage`: one SQLite file that several processes share.

A write session either completes or leaves the records exactly as they were, in both backends.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import json
import math
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocate.study_checks import MEASUREMENT_COLUMNS
from allocate.study_file import StudySpec, study_from_dict
from allocate.study_records import Batch

if TYPE_CHECKING:
    from allocate.fitting import CurveFit, CurveFits
    from allocate.strategies import StudyState

__all__ = [
    "IN_HAND_NOTE",
    "TABLE_COLUMNS",
    "InMemoryStorage",
    "StudyReader",
    "StudyStorage",
    "StudyWriter",
]

#: The note of batch 0, which holds measurements of the samples in hand at creation.
IN_HAND_NOTE = "in hand before the study"
#: The stored tables and their columns, as exported (the SQLite backend's schema).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "meta": ("key", "value"),
    "batches": ("number", "asked_at", "told_at", "note", "fairalloc_version"),
    "asked": ("batch", "group_name", "count", "target_total"),
    "collected": ("batch", "group_name", "count"),
    "measurements": ("row", "batch", "group_name", "n", "n_total", "value", "seed"),
    "fits": ("batch", "group_name", "family", "sense", "a", "b", "c", "t", "q",
             "residual_error", "n_points", "n_sizes", "detail"),
}
_MEASUREMENT_TYPES = {"group": str, "n": float, "n_total": float, "value": float,
                      "seed": "Int64"}


class StudyReader(abc.ABC):
    """A read session: every answer comes from one consistent view of the records."""

    spec: StudySpec

    @abc.abstractmethod
    def last_batch_number(self) -> int:
        """The highest batch number recorded (0 when there is none)."""

    @abc.abstractmethod
    def open_batch(self) -> Batch | None:
        """The batch asked for and not yet told, if any."""

    @abc.abstractmethod
    def state(self) -> StudyState:
        """Collected counts, measurements and rounds of the told batches."""

    @abc.abstractmethod
    def asks_nothing(self, number: int) -> bool:
        """True when batch ``number`` asked for no samples at all."""

    @abc.abstractmethod
    def latest_fits(self) -> tuple[int | None, CurveFits | None]:
        """The curves fitted for the latest batch that fitted any, with its number."""

    @abc.abstractmethod
    def latest_plan(self) -> tuple[int | None, dict[str, float] | None]:
        """The target totals of the latest batch that had a plan, with its number."""

    @abc.abstractmethod
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every stored table (:data:`TABLE_COLUMNS`), rows in the order they were written."""


class StudyWriter(StudyReader):
    """A write session: reads see the session's own writes; all of it lands or none."""

    @abc.abstractmethod
    def add_batch(self, number: int, note: str, counts: np.ndarray,
                  target_totals: np.ndarray | None, fits: CurveFits | None) -> None:
        """Record batch ``number`` as asked: its counts, plan and the curves behind it."""

    @abc.abstractmethod
    def record_told(self, number: int, counts: np.ndarray, measurements: pd.DataFrame) -> None:
        """Record what batch ``number`` collected and measured, and close it."""


class StudyStorage(abc.ABC):
    """The records of one study, behind read and write sessions.

    Attributes
    ----------
    meta : mapping of str to str
        The study's definition and provenance (study JSON, strategy, settings, seed...).
    location : Path or None
        Where the records live on disk (None in memory).
    """

    @property
    @abc.abstractmethod
    def meta(self) -> Mapping[str, str]:
        """The study's definition and provenance, as stored."""

    @property
    @abc.abstractmethod
    def location(self) -> Path | None:
        """Where the records live on disk (None in memory)."""

    @property
    def spec(self) -> StudySpec:
        """The study definition, rebuilt from :attr:`meta`."""
        return study_from_dict(json.loads(self.meta["study_json"]))

    @abc.abstractmethod
    def reading(self) -> contextlib.AbstractContextManager[StudyReader]:
        """A read session (one read transaction)."""

    @abc.abstractmethod
    def writing(self) -> contextlib.AbstractContextManager[StudyWriter]:
        """A write session (one write transaction; an error inside it records nothing)."""


# ---- the in-memory backend ------------------------------------------------------------------


@dataclass(frozen=True)
class _BatchRecord:
    number: int
    note: str
    asked_at: str
    fairalloc_version: str
    counts: tuple[int, ...]
    target_totals: tuple[float, ...] | None
    fits: CurveFits | None
    told_at: str | None = None
    collected: tuple[int, ...] | None = None
    measurements: pd.DataFrame | None = None


class InMemoryStorage(StudyStorage):
    """A study's records in memory: what :func:`allocate.sequential.run_strategy` runs on.

    Sessions are serialised by a lock; a write session works on its own copy of the records
    and replaces them only when it completes, so an error leaves the study as it was.

    Parameters
    ----------
    meta : mapping of str to str
        The study's definition, as :meth:`allocate.study.Study.create` builds it.
    """

    def __init__(self, meta: Mapping[str, str]) -> None:
        self._meta = dict(meta)
        self._spec = super().spec
        self._batches: tuple[_BatchRecord, ...] = ()
        self._lock = threading.RLock()
        self._cache = _StateCache()

    @property
    def meta(self) -> Mapping[str, str]:
        return dict(self._meta)

    @property
    def location(self) -> None:
        return None

    @property
    def spec(self) -> StudySpec:
        return self._spec

    @contextlib.contextmanager
    def reading(self) -> Iterator[StudyReader]:
        with self._lock:
            yield _InMemorySession(self._spec, self._meta, list(self._batches), self._cache)

    @contextlib.contextmanager
    def writing(self) -> Iterator[StudyWriter]:
        with self._lock:
            session = _InMemorySession(self._spec, self._meta, list(self._batches),
                                       self._cache)
            yield session
            self._batches = tuple(session.batches)


class _StateCache:
    """The last state built, and the records it was built from (a simulation asks often)."""

    def __init__(self) -> None:
        self.records: tuple[_BatchRecord, ...] | None = None
        self.state: StudyState | None = None


class _InMemorySession(StudyWriter):
    def __init__(self, spec: StudySpec, meta: Mapping[str, str], batches: list[_BatchRecord],
                 cache: _StateCache) -> None:
        self.spec = spec
        self.meta = meta
        self.batches = batches
        self.cache = cache

    def last_batch_number(self) -> int:
        return max((record.number for record in self.batches), default=0)

    def open_batch(self) -> Batch | None:
        waiting = [record for record in self.batches if record.told_at is None]
        if not waiting:
            return None
        record = max(waiting, key=lambda r: r.number)
        targets = None if record.target_totals is None else dict(
            zip(self.spec.names, record.target_totals, strict=True))
        return make_batch(self.spec, record.number, dict(zip(self.spec.names, record.counts,
                                                             strict=True)),
                          targets, record.note, record.asked_at,
                          () if record.fits is None else tuple(record.fits.warnings))

    def state(self) -> StudyState:
        from allocate.strategies import StudyState

        records = tuple(self.batches)
        cached = self.cache.records
        if cached is not None and len(cached) == len(records) and all(
                a is b for a, b in zip(cached, records, strict=True)):  # records are frozen
            return self.cache.state
        told = [record for record in records if record.told_at is not None]
        collected = np.zeros(len(self.spec.groups), dtype=np.int64)
        for record in told:
            collected += np.asarray(record.collected, dtype=np.int64)
        parts = [r.measurements for r in told if r.measurements is not None and len(r.measurements)]
        measurements = (pd.concat(parts, ignore_index=True) if parts
                        else _empty_measurements().copy())
        collected.setflags(write=False)  # the cached state is shared by later reads
        state = StudyState(study=self.spec, collected=collected, measurements=measurements,
                           rounds=sum(1 for record in told if record.number > 0))
        self.cache.records, self.cache.state = records, state
        return state

    def asks_nothing(self, number: int) -> bool:
        return not any(next(r for r in self.batches if r.number == number).counts)

    def latest_fits(self) -> tuple[int | None, CurveFits | None]:
        fitted = [record for record in self.batches if record.fits is not None]
        if not fitted:
            return None, None
        record = max(fitted, key=lambda r: r.number)
        return record.number, record.fits

    def latest_plan(self) -> tuple[int | None, dict[str, float] | None]:
        planned = [record for record in self.batches if record.target_totals is not None]
        if not planned:
            return None, None
        record = max(planned, key=lambda r: r.number)
        return record.number, dict(zip(self.spec.names, record.target_totals, strict=True))

    def tables(self) -> dict[str, pd.DataFrame]:
        rows: dict[str, list[tuple]] = {name: [] for name in TABLE_COLUMNS}
        rows["meta"] = sorted(self.meta.items())
        for record in self.batches:
            rows["batches"].append((record.number, record.asked_at, record.told_at, record.note,
                                    record.fairalloc_version))
            targets = record.target_totals or (None,) * len(record.counts)
            rows["asked"] += [(record.number, name, count, target) for name, count, target in
                              zip(self.spec.names, record.counts, targets, strict=True)]
            if record.fits is not None:
                rows["fits"] += fit_rows(record.number, record.fits)
        for record in (r for r in self.batches if r.told_at is not None):  # told in order
            rows["collected"] += [(record.number, name, count) for name, count in
                                  zip(self.spec.names, record.collected, strict=True)]
            rows["measurements"] += [
                (len(rows["measurements"]) + index + 1, record.number, *row)
                for index, row in enumerate(measurement_rows(record.measurements))]
        return {name: pd.DataFrame(rows[name], columns=list(columns))
                for name, columns in TABLE_COLUMNS.items()}

    def add_batch(self, number: int, note: str, counts: np.ndarray,
                  target_totals: np.ndarray | None, fits: CurveFits | None) -> None:
        targets = None if target_totals is None else tuple(
            float(value) for value in np.asarray(target_totals, dtype=float))
        self.batches.append(_BatchRecord(
            number=number, note=str(note), asked_at=now(), fairalloc_version=fairalloc_version(),
            counts=tuple(int(count) for count in counts), target_totals=targets, fits=fits))

    def record_told(self, number: int, counts: np.ndarray, measurements: pd.DataFrame) -> None:
        index = next(i for i, record in enumerate(self.batches) if record.number == number)
        self.batches[index] = replace(
            self.batches[index], told_at=now(), collected=tuple(int(c) for c in counts),
            measurements=_typed(measurements[list(MEASUREMENT_COLUMNS)].reset_index(drop=True)))


# ---- shared by the backends -----------------------------------------------------------------


def make_batch(spec: StudySpec, number: int, counts: Mapping[str, int],
               target_totals: Mapping[str, float] | None, note: str, asked_at: str | None,
               warnings: tuple[str, ...] = ()) -> Batch:
    """A :class:`Batch` in study order, with its cost."""
    ordered = {name: int(counts[name]) for name in spec.names}
    cost = float(sum(group.cost * ordered[group.name] for group in spec.groups))
    targets = None if target_totals is None else {
        name: float(target_totals[name]) for name in spec.names}
    return Batch(number=number, counts=ordered, target_totals=targets, cost=cost, note=note,
                 asked_at=asked_at, warnings=warnings)


def write_in_hand(writer: StudyWriter, in_hand: pd.DataFrame) -> None:
    """Batch 0: the samples in hand at creation and their measurements (nothing collected)."""
    if not len(in_hand):
        return
    zeros = np.zeros(len(writer.spec.groups), dtype=np.int64)
    writer.add_batch(0, IN_HAND_NOTE, zeros, None, None)
    writer.record_told(0, zeros, in_hand)


def measurement_rows(table: pd.DataFrame) -> list[tuple]:
    """``(group, n, n_total, value, seed)`` per row, plain Python values (seed may be None)."""
    seeds = table["seed"].astype(object).where(table["seed"].notna(), None)
    return [(str(group), float(n), float(n_total), float(value),
             None if seed is None else int(seed))
            for group, n, n_total, value, seed in zip(
                table["group"], table["n"], table["n_total"], table["value"], seeds,
                strict=True)]


def fit_rows(number: int, fits: CurveFits) -> list[tuple]:
    """One row per group of the ``fits`` table: the parameters, and every detail as JSON."""
    rows = []
    for fit in fits:
        detail = fit.to_dict() | {
            "covariance": np.asarray(fit.covariance, dtype=float).tolist(),
            "bootstrap_samples": None if fit.bootstrap_samples is None
            else np.asarray(fit.bootstrap_samples, dtype=float).tolist(),
            "fits_family": fits.family,
            "fits_level": fits.level,
        }
        params = fit.curve.params()
        rows.append((number, fit.group, fit.family, fit.sense, params["a"], params["b"],
                     params["c"], params["t"], params["q"], _finite_or_none(fit.residual_error),
                     int(fit.n_points), int(fit.n_sizes), json.dumps(detail)))
    return rows


def fits_from_details(details: list[dict]) -> CurveFits:
    """The :class:`CurveFits` that :func:`fit_rows` stored, from its JSON details."""
    from allocate.fitting import CurveFits

    first = details[0]
    return CurveFits(fits=tuple(_fit_from_detail(detail) for detail in details),
                     family=first["fits_family"], sense=first["sense"],
                     level=float(first["fits_level"]))


def _fit_from_detail(detail: dict) -> CurveFit:
    from allocate.curves import Curve
    from allocate.fitting import CurveFit

    samples = detail["bootstrap_samples"]
    return CurveFit(
        group=detail["group"],
        curve=Curve(**detail["curve"], sense=detail["sense"], score_max=detail["score_max"]),
        family=detail["family"],
        log_space=detail["log_space"],
        level=detail["level"],
        estimates=dict(detail["estimates"]),
        std_errors=dict(detail["std_errors"]),
        intervals={k: tuple(v) for k, v in detail["intervals"].items()},
        interval_method=detail["interval_method"],
        covariance=np.array(detail["covariance"], dtype=float),
        residual_error=detail["residual_error"],
        n_points=detail["n_points"],
        n_sizes=detail["n_sizes"],
        bootstrap_samples=None if samples is None else np.array(samples, dtype=float),
        bootstrap_method=detail["bootstrap_method"],
        warnings=tuple(detail["warnings"]),
        **_goodness_of_fit(detail),
    )


def _goodness_of_fit(detail: dict) -> dict[str, Any]:
    """The fit statistics a detail holds (studies written before they existed hold none)."""
    found: dict[str, Any] = {}
    if detail.get("residual_dof") is not None:
        found["residual_dof"] = int(detail["residual_dof"])
    for name in ("r_squared", "log_likelihood", "aic", "bic"):
        if name in detail:
            found[name] = float("nan") if detail[name] is None else float(detail[name])
    if detail.get("fitted_sizes") is not None:
        found["fitted_sizes"] = tuple(float(v) for v in detail["fitted_sizes"])
    return found


def now() -> str:
    """The time, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@functools.cache  # reading package metadata is slow, and it does not change in a process
def fairalloc_version() -> str:
    """The installed fairalloc's version ("unknown" from a bare checkout)."""
    try:
        return metadata.version("fairalloc")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the measurement columns' types (cast only where they differ: casting is
    most of a simulated round's bookkeeping)."""
    wanted = _empty_measurements().dtypes
    differ = {c: _MEASUREMENT_TYPES[c] for c in MEASUREMENT_COLUMNS
              if table[c].dtype != wanted[c]}
    return table.astype(differ) if differ else table.copy()


@functools.cache
def _empty_measurements() -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in MEASUREMENT_COLUMNS}).astype(
        _MEASUREMENT_TYPES)


def _finite_or_none(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None
