"""A study run as ask and tell: every batch asked for, collected and measured, kept in storage.

Real collection happens in rounds over weeks. :class:`Study` keeps a study's definition (the
groups, the strategy's settings, the seed), every batch it asked for, the samples actually
collected (they may differ from what was asked), every measurement and every curve fit, in the
manner of optuna's ``Study`` over its storages::

    study = Study.create("study.sqlite", read_study("study.toml"))  # the expected strategy
    batch = study.ask()                      # numbered; asking again returns the same batch
    study.tell(collected={"YRI": 40, "CEU": 10}, measurements=points)
    study.status().summary()

The records live in an SQLite file (:class:`~allocate.study_sqlite.SQLiteStorage`), or in
memory when the path is None (:class:`~allocate.study_storage.InMemoryStorage`, what
:func:`allocate.sequential.run_strategy` uses). Seeding, the checks of every proposal and the
checks of what is told are here, the same for both.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import platform
import sqlite3
import sys
import warnings
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from allocate.errors import FairallocError, InputError, StudyFileError
from allocate.study_checks import (
    checked_collected,
    checked_measurements,
    checked_proposal,
    checked_seed,
    checked_strategy,
)
from allocate.study_file import StudySpec, study_from_dict
from allocate.study_records import Batch, GroupStatus, StudyStatus, json_ready
from allocate.study_storage import InMemoryStorage, StudyStorage, fairalloc_version, now

if TYPE_CHECKING:
    from allocate.fitting import CurveFits
    from allocate.strategies import Strategy, StudyState

__all__ = ["Study"]


class Study:
    """A study over storage: ask for a batch, tell what was collected and measured, repeat.

    Make one with :meth:`create`, open a stored one with :meth:`load`. Every call does its
    work in one storage session (one transaction), so several processes can share an SQLite
    study, and a refused or interrupted call records nothing.

    Parameters
    ----------
    storage : StudyStorage
        Where the records live (use :meth:`create` or :meth:`load` rather than this).
    strategy : Strategy, optional
        The strategy object to ask (in memory only); by default it is rebuilt from the stored
        name and settings at every ask.

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
    >>> type(Study.create(None, spec, strategy="equal").storage).__name__  # path None: memory
    'InMemoryStorage'
    """

    def __init__(self, storage: StudyStorage, *, strategy: Strategy | None = None) -> None:
        self._storage = storage
        self._meta = dict(storage.meta)
        self._spec = storage.spec
        self._strategy = strategy

    # ---- factories -------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        path: str | Path | None,
        study: StudySpec,
        *,
        strategy: str | Strategy = "expected",
        seed: int = 0,
        study_text: str | None = None,
        study_path: str | Path | None = None,
        measurements: pd.DataFrame | None = None,
        **strategy_settings: Any,
    ) -> Study:
        """Create a new study and return it: an SQLite file at ``path``, or in memory.

        An SQLite study is built in a temporary file beside ``path`` and linked into place,
        so it either exists completely or not at all, and an existing file is never replaced.

        Parameters
        ----------
        path : str, Path or None
            The database file to create (it must not exist), or None to keep the study in
            memory.
        study : StudySpec
            The groups, costs, pools, budget and utility. It needs a budget.
        strategy : str or Strategy
            A strategy name of :func:`allocate.strategies.make_strategy` (not ``oracle``,
            which needs the true curves). In memory it may also be a strategy object. The
            default, ``expected``, plans on the fitted curves' uncertainty (their bootstrap
            refits); ``adaptive`` plans on their point estimates, which can swing the budget
            to one group.
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
        from allocate.study_sqlite import SQLiteStorage

        if path is not None:
            _check_new_database(Path(path))
        if not isinstance(study, StudySpec):
            raise InputError(f"study must be a StudySpec; got {type(study).__name__}")
        if study.budget is None:
            raise InputError("a study needs a budget; give the StudySpec a budget")
        seed = checked_seed(seed)
        made = _made_strategy(strategy, strategy_settings, in_memory=path is None)
        if study_path is not None and study_text is None:
            study_text = _read_study_text(Path(study_path))
        in_hand = checked_measurements(measurements, StudyState.start(study),
                                       np.zeros(len(study.groups), dtype=np.int64))
        definition = _study_to_dict(study)
        if study_from_dict(json.loads(json.dumps(definition))) != study:
            raise FairallocError("internal error: the study definition does not round-trip")
        meta = {
            "created": now(),
            "study_json": json.dumps(definition, sort_keys=True),
            "study_toml": study_text or "",
            "study_sha256": "" if study_text is None else _sha256(study_text),
            "study_path": "" if study_path is None else str(Path(study_path).resolve()),
            "strategy": made.name,
            "strategy_settings": json.dumps(json_ready(made.settings()), sort_keys=True,
                                            default=repr),
            "seed": str(seed),
            **{f"provenance.{k}": v for k, v in _provenance().items()},
        }
        if path is None:
            storage: StudyStorage = InMemoryStorage(meta)
            with storage.writing() as writer:
                from allocate.study_storage import write_in_hand

                write_in_hand(writer, in_hand)
            return cls(storage, strategy=None if isinstance(strategy, str) else made)
        return cls(SQLiteStorage.create(Path(path), meta, in_hand))

    @classmethod
    def load(cls, path: str | Path) -> Study:
        """Open an existing SQLite study.

        Warns (``UserWarning``) when the study was created by another fairalloc version.

        Raises
        ------
        InputError
            ``path`` does not exist, is a folder, or is not a fairalloc study database.
        """
        from allocate.study_sqlite import SQLiteStorage

        storage = SQLiteStorage.load(path)
        version = storage.meta.get("provenance.fairalloc")
        if version != fairalloc_version():
            warnings.warn(
                f"study {Path(path).name} was created by fairalloc {version}; this is"
                f" {fairalloc_version()}",
                stacklevel=2,
            )
        return cls(storage)

    # ---- what the study is ---------------------------------------------------------------

    @property
    def storage(self) -> StudyStorage:
        """Where the study's records live."""
        return self._storage

    @property
    def path(self) -> Path | None:
        """The database file (None for a study in memory)."""
        return self._storage.location

    @property
    def spec(self) -> StudySpec:
        """The study definition, rebuilt from storage."""
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

    def make_strategy(self) -> Strategy:
        """The study's strategy: the object it was made with, or rebuilt from name and settings."""
        if self._strategy is not None:
            return self._strategy
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
            now_sha = _sha256(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, IsADirectoryError):
            return
        except (OSError, UnicodeDecodeError) as error:
            raise StudyFileError(f"cannot read the study file {recorded!r}: {error}") from None
        if now_sha != self._meta["study_sha256"]:
            raise StudyFileError(
                f"study file {recorded!r} changed since the study was created (sha256"
                f" {self._meta['study_sha256'][:12]}... then, {now_sha[:12]}... now); restore"
                " it (Study.study_text holds the original), or create a new study from the"
                " changed file"
            )

    # ---- ask / tell ------------------------------------------------------------------------

    def ask(self) -> Batch:
        """The batch to collect now.

        Asking again before :meth:`tell` returns the same batch; two processes asking at once
        get the same batch. The strategy's random numbers come from the study seed and the
        batch number (``SeedSequence(seed, spawn_key=(number,))``), so a study replayed with
        the same seed and results asks the same. The proposal is checked (whole counts >= 0,
        within the budget left and every pool) before it is recorded.

        Once the strategy has nothing more to collect, the answer is a finished batch
        (numbered as the next one would be) and nothing is recorded.

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
        with self._storage.reading() as reader:  # most asks find the batch already open
            open_batch = reader.open_batch()
        if open_batch is not None:
            return open_batch
        with self._storage.writing() as writer:
            open_batch = writer.open_batch()
            if open_batch is not None:
                return open_batch
            number = writer.last_batch_number() + 1
            state = writer.state()
            rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(number,)))
            proposal = self.make_strategy().propose(state, rng=rng)
            counts = checked_proposal(proposal, state)
            if proposal.finished:  # nothing to collect: answer, and record nothing
                return _finished_batch(self._spec, number, proposal)
            writer.add_batch(number, proposal.note, counts, proposal.target_totals,
                             proposal.fits)
            return writer.open_batch()

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
        with self._storage.writing() as writer:
            open_batch = writer.open_batch()
            if open_batch is None and _spent_out(writer.state()):
                raise InputError("the study is finished (its budget is spent); there is"
                                 " nothing to record")
            if open_batch is None:
                raise InputError("no batch is open; ask for the next one first (Study.ask)")
            if batch is not None and batch != open_batch.number:
                raise InputError(
                    f"batch {batch} is not the open batch; the open batch is"
                    f" {open_batch.number}")
            if open_batch.finished:
                raise InputError(
                    "the study is finished (the strategy asks for nothing more); there is"
                    " nothing to record")
            state = writer.state()
            counts = checked_collected(collected, open_batch, state)
            table = checked_measurements(measurements, state, counts)
            writer.record_told(open_batch.number, counts, table)

    # ---- reading -------------------------------------------------------------------------

    def state(self) -> StudyState:
        """The study's state as the strategies see it (told batches only)."""
        with self._storage.reading() as reader:
            return reader.state()

    def open_batch(self) -> Batch | None:
        """The batch asked for and not yet told, if any."""
        with self._storage.reading() as reader:
            return reader.open_batch()

    def history(self) -> dict[str, pd.DataFrame]:
        """Every batch, collection, measurement and fit, as DataFrames.

        Returns
        -------
        dict
            ``batches`` (one row per batch and group: asked count, target total, note, times),
            ``collected``, ``measurements`` and ``fits`` (one row per batch and group).
        """
        with self._storage.reading() as reader:
            tables = reader.tables()
        return _history(tables)

    def status(self) -> StudyStatus:
        """Budget spent and left, per-group counts, the latest fitted curves and plan.

        Raises
        ------
        StudyFileError
            The study file changed since creation.
        """
        self.check_study_file()
        with self._storage.reading() as reader:
            state = reader.state()
            open_batch = reader.open_batch()
            latest = reader.last_batch_number()
            recorded_finished = latest > 0 and reader.asks_nothing(latest)  # older files
            fitted_at, fits = reader.latest_fits()
            plan_from, plan = reader.latest_plan()
        finished = recorded_finished or (open_batch is None and _spent_out(state))
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
        with self._storage.reading() as reader:
            tables = reader.tables()
        directory.mkdir(parents=True, exist_ok=True)
        files = {f"{name}.csv": frame.to_csv(index=False) for name, frame in tables.items()}
        if self.study_text is not None:
            files["study.toml"] = self.study_text
        for name, text in files.items():
            write_text_atomically(directory / name, text)
        return [directory / name for name in files]


def _spent_out(state: StudyState) -> bool:
    """True when the budget left buys no sample of any group that still has room."""
    room = state.totals < state.pools
    affordable = state.costs <= state.remaining + 1e-9 * max(1.0, float(state.study.budget))
    return not np.any(room & affordable)


def _finished_batch(spec: StudySpec, number: int, proposal) -> Batch:
    from allocate.study_storage import make_batch

    warnings_ = () if proposal.fits is None else tuple(proposal.fits.warnings)
    return make_batch(spec, number, dict.fromkeys(spec.names, 0), None, proposal.note, None,
                      warnings_)


def _check_new_database(path: Path) -> None:
    if path.is_dir():
        raise InputError(f"{str(path)!r} is a folder; give the path of a new database file")
    if path.exists():
        raise InputError(f"{str(path)!r} already exists; give a new path for a new study, or"
                         " load this one (Study.load)")


def _made_strategy(strategy: str | Strategy, settings: dict[str, Any], *,
                   in_memory: bool) -> Strategy:
    if isinstance(strategy, str):
        return checked_strategy(strategy, settings)
    if not in_memory:
        raise InputError("a stored study needs a strategy name (it is rebuilt from its name"
                         f" and settings when loaded); got a {type(strategy).__name__} object")
    if settings:
        raise InputError("give strategy settings to the strategy object itself; got"
                         f" {', '.join(sorted(settings))}")
    if not callable(getattr(strategy, "propose", None)):
        raise InputError(f"strategy must be a name or a strategy object; got {strategy!r}")
    return strategy


def _history(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    asked = tables["asked"].rename(columns={"group_name": "group", "count": "asked"})
    batches = tables["batches"].rename(columns={"number": "batch"})
    joined = asked.merge(batches[["batch", "note", "asked_at", "told_at"]], on="batch",
                         how="inner", sort=False)
    joined = joined.sort_values("batch", kind="stable").reset_index(drop=True)
    collected = tables["collected"].rename(columns={"group_name": "group", "count": "collected"})
    collected = collected.sort_values("batch", kind="stable").reset_index(drop=True)
    measurements = tables["measurements"].rename(columns={"group_name": "group"})
    measurements = measurements[["batch", "group", "n", "n_total", "value", "seed"]]
    measurements = measurements.astype({"seed": "Int64"}).reset_index(drop=True)
    fits = tables["fits"].rename(columns={"group_name": "group"}).drop(columns="detail")
    fits = fits.sort_values("batch", kind="stable").reset_index(drop=True)
    return {"batches": joined[["batch", "group", "asked", "target_total", "note", "asked_at",
                               "told_at"]],
            "collected": collected[["batch", "group", "collected"]],
            "measurements": measurements, "fits": fits}


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _read_study_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the study file {str(path)!r}: {error}") from None


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
        sense=spec.sense,
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


@functools.cache  # package metadata and the platform do not change in a process
def _provenance_versions() -> tuple[tuple[str, str], ...]:
    return tuple(_read_provenance().items())


def _provenance() -> dict[str, str]:
    return dict(_provenance_versions())


def _read_provenance() -> dict[str, str]:
    versions = {"fairalloc": fairalloc_version(), "python": sys.version.split()[0],
                "platform": platform.platform(), "sqlite": sqlite3.sqlite_version}
    for package in ("numpy", "scipy", "pandas"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    return versions
