"""A study that lives on disk: every batch asked for, collected and measured, in one SQLite file.

Real collection happens in rounds over weeks. :class:`Study` keeps a study's definition (the
study file and the strategy's settings), every batch it asked for, the samples actually collected
(they may differ from what was asked), every measurement and every curve fit in an SQLite
database (Python's own :mod:`sqlite3`, no server), in the manner of optuna's RDB storage::

    study = Study.create("study.sqlite", read_study("study.toml"), strategy="adaptive")
    batch = study.ask()                      # numbered; asking again returns the same batch
    study.tell(collected={"YRI": 40, "CEU": 10}, measurements=points)
    study.status().summary()

Every write is one ``BEGIN IMMEDIATE`` transaction: two processes asking at once get the same
batch, and a process killed in the middle of :meth:`Study.tell` leaves the study as it was.
Every read that needs a consistent picture runs in one read transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import re
import sqlite3
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocate.errors import FairallocError, InputError, StudyFileError
from allocate.study_file import StudySpec, study_from_dict

if TYPE_CHECKING:
    from allocate.fitting import CurveFits
    from allocate.strategies import Proposal, StudyState

__all__ = ["Batch", "GroupStatus", "Study", "StudyStatus", "SCHEMA_VERSION", "read_results"]

#: Version of the database layout; a file with a newer version is refused.
SCHEMA_VERSION = 1
#: How long a process waits for another one's write transaction before giving up (seconds).
LOCK_TIMEOUT = 120.0
_TABLES = ("meta", "batches", "asked", "collected", "measurements", "fits")
#: The note of batch 0, which holds measurements of the samples in hand at creation.
IN_HAND_NOTE = "in hand before the study"

_SCHEMA = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE batches (
    number INTEGER PRIMARY KEY,
    asked_at TEXT NOT NULL,
    told_at TEXT,
    note TEXT NOT NULL,
    fairalloc_version TEXT NOT NULL
);
CREATE TABLE asked (
    batch INTEGER NOT NULL REFERENCES batches (number),
    group_name TEXT NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    target_total REAL,
    PRIMARY KEY (batch, group_name)
);
CREATE TABLE collected (
    batch INTEGER NOT NULL REFERENCES batches (number),
    group_name TEXT NOT NULL,
    count INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (batch, group_name)
);
CREATE TABLE measurements (
    row INTEGER PRIMARY KEY,
    batch INTEGER NOT NULL REFERENCES batches (number),
    group_name TEXT NOT NULL,
    n REAL NOT NULL CHECK (n > 0),
    n_total REAL NOT NULL,
    value REAL NOT NULL,
    seed INTEGER
);
CREATE TABLE fits (
    batch INTEGER NOT NULL REFERENCES batches (number),
    group_name TEXT NOT NULL,
    family TEXT NOT NULL,
    sense TEXT NOT NULL,
    a REAL NOT NULL,
    b REAL NOT NULL,
    c REAL NOT NULL,
    t REAL NOT NULL,
    q REAL NOT NULL,
    residual_error REAL,
    n_points INTEGER NOT NULL,
    n_sizes INTEGER NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (batch, group_name)
);
"""


@dataclass(frozen=True)
class Batch:
    """One numbered request for samples: how many to collect from each group now.

    Attributes
    ----------
    number : int
        The batch's number, from 1.
    counts : dict of str to int
        New samples to collect per group, in study order. All zero means the study is finished.
    target_totals : dict of str to float, or None
        The strategy's plan for the whole remaining budget (totals per group), if it has one.
    cost : float
        What collecting ``counts`` costs.
    note : str
        The strategy's note ("pilot", "adaptive", "equal fallback: ...").
    asked_at : str
        When the batch was first asked for (UTC, ISO 8601).
    """

    number: int
    counts: dict[str, int]
    target_totals: dict[str, float] | None
    cost: float
    note: str
    asked_at: str

    @property
    def finished(self) -> bool:
        """True when the batch asks for nothing: the strategy has spent what it can."""
        return not any(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-ready)."""
        return {
            "number": self.number,
            "finished": self.finished,
            "counts": dict(self.counts),
            "target_totals": None if self.target_totals is None else dict(self.target_totals),
            "cost": _json_number(self.cost),
            "note": self.note,
            "asked_at": self.asked_at,
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per group: ``collect`` and ``target_total``."""
        frame = pd.DataFrame({"group": list(self.counts), "collect": list(self.counts.values())})
        if self.target_totals is not None:
            frame["target_total"] = [self.target_totals[g] for g in self.counts]
        return frame.set_index("group")

    def summary(self) -> str:
        """A plain-text line per group for a person."""
        if self.finished:
            return f"Batch {self.number}: nothing more to collect; the study is finished."
        lines = [f"Batch {self.number} ({self.note}): collect, costing {self.cost:.6g}"]
        lines += [f"  {group}: {count}" for group, count in self.counts.items()]
        return "\n".join(lines)


@dataclass(frozen=True)
class GroupStatus:
    """One group's line of :class:`StudyStatus`.

    ``predicted_now`` and ``predicted_at_plan`` are the latest fitted curve's metric (in its own
    sense) at the group's current total and at the plan's total (``None`` without a fit or plan).
    """

    name: str
    cost: float
    pool: float
    have: int
    collected: int
    total: int
    asked: int
    planned_total: float | None
    predicted_now: float | None
    predicted_at_plan: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-ready)."""
        return {
            "name": self.name,
            "cost": self.cost,
            "pool": None if math.isinf(self.pool) else self.pool,
            "have": self.have,
            "collected": self.collected,
            "total": self.total,
            "asked": self.asked,
            "planned_total": _json_number(self.planned_total),
            "predicted_now": _json_number(self.predicted_now),
            "predicted_at_plan": _json_number(self.predicted_at_plan),
        }


@dataclass(frozen=True, eq=False)
class StudyStatus:
    """Where a study stands: budget spent and left, per-group counts, curves and plan.

    Attributes
    ----------
    strategy : str
        The strategy's name.
    utility : str
        The study's utility.
    budget, spent, left : float
        The collection budget, what the told batches cost, and the rest.
    rounds : int
        Batches told so far.
    open_batch : Batch or None
        The batch asked for and not yet told.
    finished : bool
        The latest batch asked for nothing more.
    groups : tuple of GroupStatus
        In study order.
    fits : CurveFits or None
        The curves fitted for the latest batch the strategy proposed (``fitted_at``).
    fitted_at : int or None
        That batch's number.
    plan_from : int or None
        The batch whose proposal gave ``planned_total`` (the latest one with a plan).
    """

    strategy: str
    utility: str
    budget: float
    spent: float
    left: float
    rounds: int
    open_batch: Batch | None
    finished: bool
    groups: tuple[GroupStatus, ...]
    fits: CurveFits | None
    fitted_at: int | None
    plan_from: int | None

    def to_frame(self) -> pd.DataFrame:
        """One row per group."""
        return pd.DataFrame([group.to_dict() for group in self.groups]).set_index("name")

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-ready), as printed by ``fairalloc study status --json``."""
        return {
            "strategy": self.strategy,
            "utility": self.utility,
            "budget": _json_number(self.budget),
            "spent": _json_number(self.spent),
            "left": _json_number(self.left),
            "rounds": self.rounds,
            "finished": self.finished,
            "open_batch": None if self.open_batch is None else self.open_batch.to_dict(),
            "groups": [group.to_dict() for group in self.groups],
            "fitted_at": self.fitted_at,
            "fits": None if self.fits is None else _json_ready(self.fits.to_dict()),
            "plan_from": self.plan_from,
        }

    def summary(self) -> str:
        """A plain-text report for a person."""
        state = "finished" if self.finished else (
            f"batch {self.open_batch.number} open" if self.open_batch else "no batch open")
        lines = [
            f"Study ({self.strategy} strategy, {self.utility} utility): {self.rounds} round(s)"
            f" recorded, {state}",
            f"spent {self.spent:.6g} of {self.budget:.6g}; {self.left:.6g} left",
            f"{'group':<16}{'have':>8}{'collected':>11}{'total':>9}{'asked':>8}{'plan':>10}",
        ]
        for g in self.groups:
            plan = "" if g.planned_total is None else f"{g.planned_total:.6g}"
            lines.append(f"{g.name[:15]:<16}{g.have:>8}{g.collected:>11}{g.total:>9}"
                         f"{g.asked:>8}{plan:>10}")
        if self.fits is not None:
            lines.append(f"curves fitted for batch {self.fitted_at}:")
            lines += ["  " + line for line in self.fits.summary().splitlines()]
        return "\n".join(lines)


class Study:
    """A persisted study: ask for a batch, tell what was collected and measured, repeat.

    Make one with :meth:`create`, open one with :meth:`load`. The object holds no open
    connection: each call opens the file, does its work in one transaction and closes it, so
    several processes can share a study.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> from allocate.study_file import study_from_dict
    >>> spec = study_from_dict({"budget": 40, "groups": [
    ...     {"name": "A", "curve": {"a": 1.0, "b": 0.5}},
    ...     {"name": "B", "curve": {"a": 2.0, "b": 0.5}}]})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "study.sqlite"
    >>> study = Study.create(path, spec, strategy="equal", seed=1)
    >>> batch = study.ask()
    >>> study.ask() == batch
    True
    >>> points = pd.DataFrame({"group": ["A", "B"], "n": [5, 5], "value": [0.4, 0.9]})
    >>> study.tell({g: c for g, c in batch.counts.items()}, points)
    >>> study.state().rounds
    1
    """

    def __init__(self, path: Path, meta: dict[str, str]) -> None:
        self._path = path
        self._meta = meta
        self._spec = study_from_dict(json.loads(meta["study_json"]))

    # ---- factories -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path,
        study: StudySpec,
        *,
        strategy: str = "adaptive",
        seed: int = 0,
        study_text: str | None = None,
        study_path: str | Path | None = None,
        measurements: pd.DataFrame | None = None,
        **strategy_settings: Any,
    ) -> Study:
        """Create a new study database at ``path`` and return it.

        The file is built in a temporary file beside ``path`` and linked into place, so a
        study either exists completely or not at all, and an existing file is never replaced.

        Parameters
        ----------
        path : str or Path
            The database to create; it must not exist.
        study : StudySpec
            The groups, costs, pools, budget and utility. It needs a budget.
        strategy : str
            A strategy name of :func:`allocate.sequential.make_strategy` (not ``oracle``,
            which needs the true curves).
        seed : int
            Seeds every batch's random numbers, with the batch number.
        study_text : str, optional
            The study file's text, kept verbatim with its sha256 (read from ``study_path``
            when not given).
        study_path : str or Path, optional
            Where the study file lives; later calls refuse to run if it changes there.
        measurements : pandas.DataFrame, optional
            Measurements of the samples already in hand (``have``), as a points table, so the
            first batch can be planned on fitted curves. They are kept as batch 0, which
            collects nothing and does not count as a round.
        **strategy_settings
            Passed to the strategy (e.g. its batch size).

        Returns
        -------
        Study

        Raises
        ------
        InputError
            ``path`` exists, a study without a budget, a bad seed, strategy or setting, or a
            bad measurement table (e.g. measured at more samples than are in hand).
        """
        from allocate.strategies import StudyState

        path = Path(path)
        if path.exists():
            raise InputError(
                f"{str(path)!r} already exists; give a new --db path for a new study, or"
                " continue this one with `fairalloc study next`"
            )
        if not isinstance(study, StudySpec):
            raise InputError(f"study must be a StudySpec; got {type(study).__name__}")
        if study.budget is None:
            raise InputError("a persisted study needs a budget; add budget = ... to the study file")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise InputError(f"seed must be a whole number >= 0; got {seed!r}")
        made = _strategy(strategy, strategy_settings)
        if study_path is not None and study_text is None:
            study_text = _read_study_text(Path(study_path))
        in_hand = _checked_measurements(measurements, StudyState.start(study),
                                        np.zeros(len(study.groups), dtype=np.int64))
        definition = _study_to_dict(study)
        if study_from_dict(json.loads(json.dumps(definition))) != study:
            raise FairallocError("internal error: the study definition does not round-trip")
        meta = {
            "schema_version": str(SCHEMA_VERSION),
            "created": _now(),
            "study_json": json.dumps(definition, sort_keys=True),
            "study_toml": study_text or "",
            "study_sha256": "" if study_text is None else _sha256(study_text),
            "study_path": "" if study_path is None else str(Path(study_path).resolve()),
            "strategy": made.name,
            "strategy_settings": json.dumps(_json_ready(made.settings()), sort_keys=True),
            "seed": str(int(seed)),
            **{f"provenance.{k}": v for k, v in _provenance().items()},
        }
        _create_database(path, meta, study, in_hand)
        return cls(path, meta)

    @classmethod
    def load(cls, path: str | Path) -> Study:
        """Open an existing study database.

        Warns (``UserWarning``) when the study was created by another fairalloc version.

        Raises
        ------
        InputError
            The file does not exist or is not a fairalloc study database.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(
                f"study database {str(path)!r} does not exist; create it with"
                " `fairalloc study init STUDY.toml --db ...`"
            )
        with _connect(path) as connection, _read(connection):
            meta = _read_meta(connection, path)
        version = meta.get("provenance.fairalloc")
        if version != _fairalloc_version():
            warnings.warn(
                f"study {path.name} was created by fairalloc {version}; this is"
                f" {_fairalloc_version()}",
                stacklevel=2,
            )
        return cls(path, meta)

    # ---- what the study is ---------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @property
    def spec(self) -> StudySpec:
        """The study definition, rebuilt from the database."""
        return self._spec

    @property
    def strategy_name(self) -> str:
        """The strategy's name."""
        return self._meta["strategy"]

    @property
    def strategy_settings(self) -> dict[str, Any]:
        """The strategy's settings as stored."""
        return json.loads(self._meta["strategy_settings"])

    @property
    def seed(self) -> int:
        """The study's seed."""
        return int(self._meta["seed"])

    @property
    def study_text(self) -> str | None:
        """The original study file's text, if it was given at creation."""
        return self._meta["study_toml"] if self._meta["study_sha256"] else None

    @property
    def provenance(self) -> dict[str, str]:
        """Software versions, platform and time that created the study."""
        return {k.removeprefix("provenance."): v for k, v in self._meta.items()
                if k.startswith("provenance.")} | {"created": self._meta["created"]}

    def make_strategy(self):
        """The study's strategy, rebuilt from its stored name and settings."""
        from allocate.strategies import make_strategy

        return make_strategy(self.strategy_name, **self.strategy_settings)

    def check_study_file(self) -> None:
        """Refuse to go on when the study file recorded at creation has changed on disk.

        Raises
        ------
        StudyFileError
            The file still exists at its recorded path and its sha256 differs.
        """
        recorded = self._meta["study_path"]
        if not recorded or not self._meta["study_sha256"]:
            return
        path = Path(recorded)
        try:
            now = _sha256(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, IsADirectoryError):
            return
        except (OSError, UnicodeDecodeError) as error:
            raise StudyFileError(f"cannot read the study file {recorded!r}: {error}") from None
        if now != self._meta["study_sha256"]:
            raise StudyFileError(
                f"study file {recorded!r} changed since `fairalloc study init` (sha256"
                f" {self._meta['study_sha256'][:12]}... then, {now[:12]}... now); restore it"
                f" (`fairalloc study export` writes the original as study.toml), or start a new"
                f" study with `fairalloc study init` and a new --db"
            )

    # ---- ask / tell ------------------------------------------------------------------------

    def ask(self) -> Batch:
        """The batch to collect now.

        Asking again before :meth:`tell` returns the same batch; two processes asking at once
        get the same batch. The strategy's random numbers come from the study seed and the
        batch number, so a study replayed with the same seed and results asks the same.

        Returns
        -------
        Batch
            ``batch.finished`` is True when the strategy has nothing more to collect.

        Raises
        ------
        StudyFileError
            The study file changed since creation (see :meth:`check_study_file`).
        """
        self.check_study_file()
        with _connect(self._path) as connection, _write(connection):
            open_batch = _open_batch(connection, self._spec)
            if open_batch is not None:
                return open_batch
            number = _last_batch_number(connection) + 1
            state = _state(connection, self._spec)
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(number,)))
            proposal = self.make_strategy().propose(state, rng=rng)
            counts = _checked_proposal(proposal, state)
            _insert_batch(connection, number, proposal.note)
            _insert_asked(connection, number, self._spec, counts, proposal.target_totals)
            if proposal.fits is not None:
                _insert_fits(connection, number, proposal.fits)
            return _open_batch(connection, self._spec)

    def tell(
        self,
        collected: Mapping[str, int],
        measurements: pd.DataFrame | None = None,
        *,
        batch: int | None = None,
    ) -> None:
        """Record what was collected for the open batch and what was measured.

        Everything is checked, against the study as it stands, inside the one transaction
        that then records it all, so an error (or a process killed half-way) leaves the study
        as it was.

        Parameters
        ----------
        collected : mapping of str to int
            New samples actually collected per group in this batch (they may differ from what
            was asked). Every group the batch asked for must be present (0 if none came);
            groups it did not ask for may be left out.
        measurements : pandas.DataFrame, optional
            Columns ``group``, ``n``, ``value`` and optionally ``n_total``, ``seed``
            (see :func:`allocate.points.validate_points`), measured on the data in hand.
        batch : int, optional
            The batch number being told; when given it must be the open batch.

        Raises
        ------
        InputError
            No open batch, a wrong batch number, unknown groups, a count that is negative or
            not whole, a group missing, more collected than the pool or the budget allows,
            or a malformed measurement table.
        StudyFileError
            The study file changed since creation.
        """
        self.check_study_file()
        with _connect(self._path) as connection, _write(connection):
            open_batch = _open_batch(connection, self._spec)
            if open_batch is None:
                raise InputError(
                    "no batch is open; ask for the next one first (`fairalloc study next`)")
            if batch is not None and batch != open_batch.number:
                raise InputError(
                    f"batch {batch} is not the open batch; the open batch is"
                    f" {open_batch.number}")
            if open_batch.finished:
                raise InputError(
                    "the study is finished (the strategy asks for nothing more); there is"
                    " nothing to record")
            state = _state(connection, self._spec)
            counts = _checked_collected(collected, open_batch, state)
            table = _checked_measurements(measurements, state, counts)
            _insert_collected(connection, open_batch.number, self._spec, counts)
            _insert_measurements(connection, open_batch.number, table)
            _mark_told(connection, open_batch.number)

    # ---- reading -------------------------------------------------------------------------

    def state(self) -> StudyState:
        """The study's state as the strategies see it (told batches only)."""
        with _connect(self._path) as connection, _read(connection):
            return _state(connection, self._spec)

    def open_batch(self) -> Batch | None:
        """The batch asked for and not yet told, if any."""
        with _connect(self._path) as connection, _read(connection):
            return _open_batch(connection, self._spec)

    def history(self) -> dict[str, pd.DataFrame]:
        """Every batch, collection, measurement and fit, as DataFrames.

        Returns
        -------
        dict
            ``batches`` (one row per batch and group: asked count, target total, note, times),
            ``collected``, ``measurements`` and ``fits`` (one row per batch and group).
        """
        with _connect(self._path) as connection, _read(connection):
            batches = _frame(connection, """
                SELECT b.number AS batch, a.group_name AS "group", a.count AS asked,
                       a.target_total, b.note, b.asked_at, b.told_at
                FROM batches b JOIN asked a ON a.batch = b.number ORDER BY b.number, a.rowid""")
            collected = _frame(connection, """
                SELECT batch, group_name AS "group", count AS collected FROM collected
                ORDER BY batch, rowid""")
            measurements = _frame(connection, """
                SELECT batch, group_name AS "group", n, n_total, value, seed FROM measurements
                ORDER BY row""")
            fits = _frame(connection, """
                SELECT batch, group_name AS "group", family, sense, a, b, c, t, q,
                       residual_error, n_points, n_sizes FROM fits ORDER BY batch, rowid""")
        measurements["seed"] = measurements["seed"].astype("Int64")
        return {"batches": batches, "collected": collected, "measurements": measurements,
                "fits": fits}

    def status(self) -> StudyStatus:
        """Budget spent and left, per-group counts, the latest fitted curves and plan.

        Raises
        ------
        StudyFileError
            The study file changed since creation.
        """
        self.check_study_file()
        with _connect(self._path) as connection, _read(connection):
            state = _state(connection, self._spec)
            open_batch = _open_batch(connection, self._spec)
            latest = _last_batch_number(connection)
            finished = latest > 0 and not _frame(
                connection, "SELECT 1 FROM asked WHERE batch = ? AND count > 0", (latest,)).size
            fitted_at, fits = _latest_fits(connection)
            plan_from, plan = _latest_plan(connection)
        return _status(self, state, open_batch, finished, fits, fitted_at, plan_from, plan)

    def export(self, directory: str | Path) -> list[Path]:
        """Write every table as CSV (and the original study file) into ``directory``.

        Each file is written to a temporary file in the folder and renamed into place.

        Returns
        -------
        list of Path
            The files written.
        """
        from allocate.files import write_text_atomically

        directory = Path(directory)
        if directory.exists() and not directory.is_dir():
            raise InputError(f"{str(directory)!r} exists and is not a folder; give a folder")
        with _connect(self._path) as connection, _read(connection):
            tables = {name: _frame(connection, f"SELECT * FROM {name}") for name in _TABLES}
        directory.mkdir(parents=True, exist_ok=True)
        files = {f"{name}.csv": frame.to_csv(index=False) for name, frame in tables.items()}
        if self.study_text is not None:
            files["study.toml"] = self.study_text
        for name, text in files.items():
            write_text_atomically(directory / name, text)
        return [directory / name for name in files]


def read_results(path: str | Path) -> tuple[dict[str, int], pd.DataFrame]:
    """Read a batch's results file: what was collected per group and what was measured.

    The CSV has the columns of a points table (``group, n, value`` and optionally ``n_total``,
    ``seed``) plus ``collected``: the new samples collected for the group in this batch, the
    same on every row of a group. A group with no measurements has one row with ``n`` and
    ``value`` left empty.

    Returns
    -------
    collected : dict of str to int
        Per group, in the order groups first appear.
    measurements : pandas.DataFrame
        The rows with a measurement, validated as a points table.

    Raises
    ------
    InputError
        A missing or unreadable file, a missing column, a count that is empty, negative, not
        whole or different between a group's rows, a row with ``n`` but no ``value`` (or the
        reverse), or a bad measurement (rows are numbered from 1 after the header).
    """
    from allocate.points import validate_points

    path = Path(path)
    if not path.is_file():
        raise InputError(f"results file {str(path)!r} does not exist")
    try:
        frame = pd.read_csv(path, dtype={"group": str}, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else "empty file"
        raise InputError(f"cannot read {str(path)!r} as CSV: {first_line}") from None
    frame.columns = [str(column).strip() for column in frame.columns]
    source = str(path)
    missing = [c for c in ("group", "collected", "n", "value") if c not in frame.columns]
    if missing:
        raise InputError(
            f"{source}: missing column(s) {', '.join(missing)}; a results file needs columns"
            " group, collected, n, value (and optionally n_total, seed)")
    if frame.empty:
        raise InputError(f"{source}: the table has no rows")
    collected: dict[str, int] = {}
    for row, (group, count) in enumerate(zip(frame["group"], frame["collected"], strict=True)):
        if pd.isna(group) or not str(group).strip():
            raise InputError(f"{source}: row {row + 1} has no group name")
        group = str(group).strip()
        number = pd.to_numeric(pd.Series([count]), errors="coerce").iloc[0]
        if pd.isna(number) or not _is_whole(float(number)) or number < 0:
            raise InputError(
                f"{source}: row {row + 1}: collected = {count} for {group}; give the new"
                " samples collected in this batch as a whole number >= 0")
        if group in collected and collected[group] != int(number):
            raise InputError(
                f"{source}: row {row + 1}: collected for {group} is {int(number)} here but"
                f" {collected[group]} on an earlier row; give the batch's count on every row")
        collected[group] = int(number)
    has_n, has_value = frame["n"].notna().to_numpy(), frame["value"].notna().to_numpy()
    half = has_n != has_value
    if half.any():
        row = int(np.flatnonzero(half)[0])
        which = ("n", "value") if has_n[row] else ("value", "n")
        raise InputError(
            f"{source}: row {row + 1} has {which[0]} but no {which[1]}; fill both, or leave"
            " both empty for a group with no measurements")
    rows = np.flatnonzero(has_n)
    columns = [c for c in ("group", "n", "value", "n_total", "seed") if c in frame.columns]
    if not rows.size:
        return collected, pd.DataFrame(columns=columns)
    table = frame.iloc[rows][columns].reset_index(drop=True)
    try:
        return collected, validate_points(table, source=source)
    except InputError as error:  # number rows as in the file, not among measurement rows
        message = re.sub(r"\brow (\d+)", lambda m: f"row {rows[int(m.group(1)) - 1] + 1}",
                         str(error))
        raise InputError(message) from None


def _read_study_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the study file {str(path)!r}: {error}") from None


def _strategy(name: str, settings: dict[str, Any]):
    """The named strategy with ``settings``, or a one-line refusal."""
    from allocate.strategies import make_strategy

    if name == "oracle":
        raise InputError(
            "the oracle strategy needs the true curves, which a real study does not know;"
            " choose adaptive, optimistic, expected, cautious, equal, proportional or"
            " worst-group"
        )
    try:
        return make_strategy(name, **settings)
    except TypeError:  # a setting the strategy does not have
        known = list(make_strategy(name).settings())
        unknown = sorted(set(settings) - set(known))
        raise InputError(
            f"strategy {name!r} has no setting(s) {', '.join(unknown)}; its settings are"
            f" {', '.join(known) or 'none'}") from None


# ---- the database ---------------------------------------------------------------------------


def _connect(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """An autocommit connection (transactions are explicit) that fails if the file is gone."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                                     timeout=LOCK_TIMEOUT, isolation_level=None)
    except sqlite3.OperationalError as error:
        raise InputError(f"cannot open study database {str(path)!r}: {error}") from None
    connection.execute("PRAGMA foreign_keys = ON")
    return contextlib.closing(connection)


@contextlib.contextmanager
def _write(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, begun IMMEDIATE so concurrent writers queue instead of racing."""
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        raise InputError(f"cannot write to the study database: {error}; another process may"
                         f" have held it for over {LOCK_TIMEOUT:g} s, try again") from None
    try:
        yield
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    try:
        connection.execute("COMMIT")
    except sqlite3.OperationalError as error:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise InputError(f"cannot write to the study database: {error}; nothing was"
                         " recorded") from None


@contextlib.contextmanager
def _read(connection: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: every query inside sees the same snapshot."""
    connection.execute("BEGIN")
    try:
        yield
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")


def _create_database(path: Path, meta: dict[str, str], spec: StudySpec,
                     in_hand: pd.DataFrame) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial",
                                             dir=path.parent)
    except OSError as error:
        raise InputError(f"cannot create {str(path)!r}: {error.strerror}") from None
    os.close(handle)
    try:
        connection = sqlite3.connect(temporary, isolation_level=None)
        try:
            connection.executescript(_SCHEMA)
            connection.execute("BEGIN")
            connection.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                   sorted(meta.items()))
            if len(in_hand):  # batch 0: the samples in hand, measured before collection
                zeros = np.zeros(len(spec.groups), dtype=np.int64)
                _insert_batch(connection, 0, IN_HAND_NOTE)
                _insert_asked(connection, 0, spec, zeros, None)
                _insert_collected(connection, 0, spec, zeros)
                _insert_measurements(connection, 0, in_hand)
                _mark_told(connection, 0)
            connection.execute("COMMIT")
        finally:
            connection.close()
        try:
            os.link(temporary, path)  # atomic, and never replaces an existing file
        except FileExistsError:
            raise InputError(f"{str(path)!r} already exists; give a new --db path") from None
    finally:
        Path(temporary).unlink(missing_ok=True)


def _read_meta(connection: sqlite3.Connection, path: Path) -> dict[str, str]:
    try:
        rows = connection.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError:
        raise InputError(
            f"{str(path)!r} is not a fairalloc study database; create one with"
            " `fairalloc study init`") from None
    meta = dict(rows)
    if "schema_version" not in meta:
        raise InputError(f"{str(path)!r} is not a fairalloc study database (no schema version)")
    if int(meta["schema_version"]) > SCHEMA_VERSION:
        raise InputError(
            f"{str(path)!r} has schema version {meta['schema_version']}, newer than this"
            f" fairalloc ({_fairalloc_version()}) reads ({SCHEMA_VERSION}); upgrade fairalloc")
    return meta


def _frame(connection: sqlite3.Connection, query: str, parameters: tuple = ()) -> pd.DataFrame:
    cursor = connection.execute(query, parameters)
    columns = [column[0] for column in cursor.description]
    return pd.DataFrame(cursor.fetchall(), columns=columns)


def _last_batch_number(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT coalesce(max(number), 0) FROM batches").fetchone()[0])


def _open_batch(connection: sqlite3.Connection, spec: StudySpec) -> Batch | None:
    row = connection.execute(
        "SELECT number, note, asked_at FROM batches WHERE told_at IS NULL"
        " ORDER BY number DESC LIMIT 1").fetchone()
    if row is None:
        return None
    number, note, asked_at = row
    asked = dict(
        (group, (count, target)) for group, count, target in connection.execute(
            "SELECT group_name, count, target_total FROM asked WHERE batch = ?", (number,)))
    counts = {name: int(asked[name][0]) for name in spec.names}
    targets = {name: asked[name][1] for name in spec.names}
    has_plan = all(value is not None for value in targets.values())
    cost = float(sum(group.cost * counts[group.name] for group in spec.groups))
    return Batch(number=number, counts=counts,
                 target_totals={k: float(v) for k, v in targets.items()} if has_plan else None,
                 cost=cost, note=note, asked_at=asked_at)


def _state(connection: sqlite3.Connection, spec: StudySpec) -> StudyState:
    from allocate.strategies import StudyState

    sums = dict(connection.execute(
        "SELECT group_name, sum(count) FROM collected GROUP BY group_name").fetchall())
    collected = np.array([int(sums.get(name, 0)) for name in spec.names], dtype=np.int64)
    measurements = _frame(connection, """
        SELECT group_name AS "group", n, n_total, value, seed FROM measurements ORDER BY row""")
    measurements = measurements.astype(
        {"group": str, "n": float, "n_total": float, "value": float, "seed": "Int64"})
    rounds = connection.execute(
        "SELECT count(*) FROM batches WHERE told_at IS NOT NULL AND number > 0").fetchone()[0]
    return StudyState(study=spec, collected=collected, measurements=measurements,
                      rounds=int(rounds))


def _insert_batch(connection: sqlite3.Connection, number: int, note: str) -> None:
    connection.execute(
        "INSERT INTO batches (number, asked_at, told_at, note, fairalloc_version)"
        " VALUES (?, ?, NULL, ?, ?)", (number, _now(), str(note), _fairalloc_version()))


def _insert_asked(connection, number: int, spec: StudySpec, counts: np.ndarray,
                  target_totals) -> None:
    targets = [None] * len(counts) if target_totals is None else [
        float(value) for value in np.asarray(target_totals, dtype=float)]
    connection.executemany(
        "INSERT INTO asked (batch, group_name, count, target_total) VALUES (?, ?, ?, ?)",
        [(number, name, int(count), target)
         for name, count, target in zip(spec.names, counts, targets, strict=True)])


def _insert_fits(connection: sqlite3.Connection, number: int, fits: CurveFits) -> None:
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
    connection.executemany(
        "INSERT INTO fits (batch, group_name, family, sense, a, b, c, t, q, residual_error,"
        " n_points, n_sizes, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _insert_collected(connection, number: int, spec: StudySpec, counts: np.ndarray) -> None:
    connection.executemany(
        "INSERT INTO collected (batch, group_name, count) VALUES (?, ?, ?)",
        [(number, name, int(count)) for name, count in zip(spec.names, counts, strict=True)])


def _insert_measurements(connection: sqlite3.Connection, number: int,
                         table: pd.DataFrame) -> None:
    seeds = table["seed"].astype(object).where(table["seed"].notna(), None)
    connection.executemany(
        "INSERT INTO measurements (batch, group_name, n, n_total, value, seed)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(number, group, float(n), float(n_total), float(value),
          None if seed is None else int(seed))
         for group, n, n_total, value, seed in zip(
             table["group"], table["n"], table["n_total"], table["value"], seeds,
             strict=True)])


def _mark_told(connection: sqlite3.Connection, number: int) -> None:
    connection.execute("UPDATE batches SET told_at = ? WHERE number = ?", (_now(), number))


def _latest_fits(connection: sqlite3.Connection) -> tuple[int | None, CurveFits | None]:
    from allocate.fitting import CurveFits

    row = connection.execute("SELECT max(batch) FROM fits").fetchone()
    if row[0] is None:
        return None, None
    number = int(row[0])
    details = [json.loads(text) for (text,) in connection.execute(
        "SELECT detail FROM fits WHERE batch = ? ORDER BY rowid", (number,))]
    fits = tuple(_fit_from_detail(detail) for detail in details)
    first = details[0]
    return number, CurveFits(fits=fits, family=first["fits_family"], sense=first["sense"],
                             level=float(first["fits_level"]))


def _fit_from_detail(detail: dict):
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
    )


def _latest_plan(connection: sqlite3.Connection) -> tuple[int | None, dict[str, float] | None]:
    row = connection.execute(
        "SELECT max(batch) FROM asked WHERE batch NOT IN"
        " (SELECT batch FROM asked WHERE target_total IS NULL)").fetchone()
    if row[0] is None:
        return None, None
    number = int(row[0])
    plan = dict(connection.execute(
        "SELECT group_name, target_total FROM asked WHERE batch = ?", (number,)).fetchall())
    return number, plan


# ---- checks at the door -------------------------------------------------------------------


def _checked_proposal(proposal: Proposal, state: StudyState) -> np.ndarray:
    """The proposal's counts as whole numbers >= 0 (a strategy bug is not the user's error)."""
    counts = np.asarray(proposal.counts)
    if counts.shape != (len(state.study.groups),) or (counts < 0).any() or not np.array_equal(
            counts, np.round(counts)):
        raise FairallocError(f"internal error: the strategy proposed counts {counts!r}")
    return counts.astype(np.int64)


def _checked_collected(collected: Any, batch: Batch, state: StudyState) -> np.ndarray:
    spec = state.study
    if not isinstance(collected, Mapping):
        raise InputError(
            f"collected must map group names to counts; got {type(collected).__name__}")
    for name in collected:
        if name not in spec.names:
            raise InputError(f"collected: {_unknown_group(name, spec)}")
    missing = [name for name in spec.names if batch.counts[name] > 0 and name not in collected]
    if missing:
        raise InputError(
            f"collected: no count for {', '.join(missing)}, which batch {batch.number} asked"
            " for; give every group of the batch (0 if none were collected)")
    counts = np.zeros(len(spec.groups), dtype=np.int64)
    for index, name in enumerate(spec.names):
        value = collected.get(name, 0)
        if not _is_whole(value) or value < 0:
            raise InputError(
                f"collected: {name} has {value!r}; counts must be whole numbers >= 0")
        counts[index] = int(value)
    totals = np.asarray(state.collected, dtype=np.int64) + np.array(
        [group.have for group in spec.groups]) + counts
    for group, total, count in zip(spec.groups, totals, counts, strict=True):
        if total > group.max:
            room = int(group.max - (total - count))
            raise InputError(
                f"collected: {group.name} would reach {int(total)} samples, above its pool"
                f" max = {group.max:g}; at most {room} more can be collected")
    costs = np.array([group.cost for group in spec.groups])
    cost = float(costs @ counts)
    spent = float(costs @ np.asarray(state.collected, dtype=float))
    left = float(spec.budget) - spent
    if cost > left + 1e-9 * max(1.0, float(spec.budget)):
        raise InputError(
            f"collected: this batch costs {cost:.6g} but only {left:.6g} of the budget"
            f" {float(spec.budget):.6g} is left; record what was really collected")
    return counts


def _checked_measurements(measurements: Any, state: StudyState,
                          counts: np.ndarray) -> pd.DataFrame:
    from allocate.points import validate_points

    columns = ["group", "n", "n_total", "value", "seed"]
    if measurements is None or (isinstance(measurements, pd.DataFrame) and measurements.empty):
        return pd.DataFrame({column: [] for column in columns})
    table = validate_points(measurements, source="measurements")
    spec = state.study
    for name in table["group"]:
        if name not in spec.names:
            raise InputError(f"measurements: {_unknown_group(name, spec)}")
    if "seed" in table.columns:
        seeds = pd.to_numeric(table["seed"], errors="coerce")
        bad = (seeds.isna() & table["seed"].notna()) | (seeds.notna() & (
            (seeds % 1 != 0) | (seeds.abs() >= 2.0**63)))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"measurements: seed {table['seed'].iloc[row]} of a"
                             f" {table['group'].iloc[row]} measurement must be a whole number"
                             " below 2**63")
        table["seed"] = seeds.astype("Int64")
    else:
        table["seed"] = pd.array([pd.NA] * len(table), dtype="Int64")
    have = np.array([group.have for group in spec.groups])
    totals = dict(zip(spec.names, have + np.asarray(state.collected) + counts, strict=True))
    in_hand = np.array([totals[name] for name in table["group"]], dtype=float)
    over = table["n"].to_numpy() > in_hand
    if over.any():
        row = int(np.flatnonzero(over)[0])
        raise InputError(
            f"measurements: {table['group'].iloc[row]} is measured at n ="
            f" {table['n'].iloc[row]:g}, but only {int(in_hand[row])} of its samples are"
            f" {_in_hand(counts)}; check n or the collected counts")
    pooled = float(sum(totals.values()))
    over = table["n_total"].to_numpy() > pooled
    if over.any():
        row = int(np.flatnonzero(over)[0])
        raise InputError(
            f"measurements: a measurement of {table['group'].iloc[row]} has n_total ="
            f" {table['n_total'].iloc[row]:g}, more than the {int(pooled)} samples"
            f" {_in_hand(counts)}; check n_total or the collected counts")
    return table[columns]


def _in_hand(counts: np.ndarray) -> str:
    return "in hand after this batch" if counts.any() else "in hand"


def _unknown_group(name: Any, spec: StudySpec) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), spec.names, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown group {name!r}{hint}; the study's groups are {', '.join(spec.names)}"


# ---- status --------------------------------------------------------------------------------


def _status(study: Study, state: StudyState, open_batch: Batch | None, finished: bool,
            fits: CurveFits | None, fitted_at: int | None, plan_from: int | None,
            plan: dict[str, float] | None) -> StudyStatus:
    spec = study.spec
    have = np.array([group.have for group in spec.groups], dtype=np.int64)
    totals = have + np.asarray(state.collected, dtype=np.int64)
    costs = np.array([group.cost for group in spec.groups])
    spent = float(costs @ np.asarray(state.collected, dtype=float))
    curves = {} if fits is None else fits.curves
    planned = None if plan is None else np.array([plan[name] for name in spec.names])
    groups = []
    for index, group in enumerate(spec.groups):
        curve = curves.get(group.name)
        target = None if planned is None else float(planned[index])
        groups.append(GroupStatus(
            name=group.name,
            cost=float(group.cost),
            pool=float(group.max),
            have=int(have[index]),
            collected=int(state.collected[index]),
            total=int(totals[index]),
            asked=0 if open_batch is None else open_batch.counts[group.name],
            planned_total=target,
            predicted_now=_predict(curve, totals[index], totals.sum()),
            predicted_at_plan=None if planned is None else _predict(
                curve, planned[index], planned.sum()),
        ))
    return StudyStatus(
        strategy=study.strategy_name,
        utility=spec.utility,
        budget=float(spec.budget),
        spent=spent,
        left=float(spec.budget) - spent,
        rounds=state.rounds,
        open_batch=open_batch,
        finished=finished,
        groups=tuple(groups),
        fits=fits,
        fitted_at=fitted_at,
        plan_from=plan_from,
    )


def _predict(curve, n: float, n_total: float) -> float | None:
    if curve is None or n <= 0:
        return None
    return float(curve.predict(float(n), float(n_total)))


# ---- small helpers -------------------------------------------------------------------------


def _study_to_dict(study: StudySpec) -> dict[str, Any]:
    """The dict form :func:`allocate.study_file.study_from_dict` reads back to ``study``."""
    groups = []
    for group in study.groups:
        table: dict[str, Any] = {
            "name": group.name,
            "cost": group.cost,
            "weight": group.weight,
            "have": group.have,
            "min": group.min,
            "sense": group.curve.sense,
            "score_max": group.curve.score_max,
            "curve": group.curve.params(),
        }
        if not math.isinf(group.max):
            table["max"] = int(group.max)
        if group.target is not None:
            table["target"] = group.target
        groups.append(table)
    data: dict[str, Any] = {"utility": study.utility, "p": study.p, "integer": study.integer,
                            "groups": groups}
    if study.budget is not None:
        data["budget"] = study.budget
    return data


def _is_whole(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, int | np.integer):
        return True
    return isinstance(value, float | np.floating) and math.isfinite(value) and float(
        value).is_integer()


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fairalloc_version() -> str:
    try:
        return metadata.version("fairalloc")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _provenance() -> dict[str, str]:
    versions = {"fairalloc": _fairalloc_version(), "python": sys.version.split()[0],
                "platform": platform.platform(), "sqlite": sqlite3.sqlite_version}
    for package in ("numpy", "scipy", "pandas"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions


def _finite_or_none(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _json_number(value: Any) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def _json_ready(value: Any) -> Any:
    """``value`` with numpy scalars and arrays made plain, and non-finite floats as None."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return _json_number(value)
    return value
