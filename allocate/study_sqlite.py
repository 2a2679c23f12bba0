"""The SQLite backend of a study: one file, several processes, every write one transaction.

Python's own :mod:`sqlite3`, no server. Every write is one ``BEGIN IMMEDIATE`` transaction, so
two processes asking at once queue and get the same batch, and a process killed in the middle of
a write leaves the file as it was (SQLite's journal rolls it back on the next open). Every read
that needs a consistent picture runs in one read transaction. A ``schema_version`` row in
``meta`` lets a newer layout be refused by an older fairalloc.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from allocate.errors import InputError
from allocate.study_file import StudySpec
from allocate.study_records import Batch
from allocate.study_storage import (
    TABLE_COLUMNS,
    StudyReader,
    StudyStorage,
    StudyWriter,
    fairalloc_version,
    fit_rows,
    fits_from_details,
    make_batch,
    measurement_rows,
    now,
    write_in_hand,
)

if TYPE_CHECKING:
    from allocate.fitting import CurveFits
    from allocate.strategies import StudyState

__all__ = ["LOCK_TIMEOUT", "SCHEMA_VERSION", "SQLiteStorage"]

#: Version of the database layout; a file with a newer version is refused.
SCHEMA_VERSION = 1
#: How long a process waits for another one's write transaction before giving up (seconds).
LOCK_TIMEOUT = 120.0

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


class SQLiteStorage(StudyStorage):
    """A study's records in one SQLite file. Make one with :meth:`create`, open with :meth:`load`.

    The object holds no open connection: each session opens the file, works in one
    transaction and closes it, so several processes can share a study.
    """

    def __init__(self, path: Path, meta: Mapping[str, str]) -> None:
        self._path = path
        self._meta = dict(meta)
        self._spec = super().spec

    @classmethod
    def create(cls, path: str | Path, meta: Mapping[str, str],
               in_hand: pd.DataFrame) -> SQLiteStorage:
        """Write a new database at ``path`` holding ``meta`` and the in-hand measurements.

        The file is built beside ``path`` and linked into place, so it exists completely or
        not at all, and an existing file is never replaced.

        Raises
        ------
        InputError
            ``path`` exists or cannot be created.
        """
        path = Path(path)
        if path.is_dir():
            raise InputError(f"{str(path)!r} is a folder; give the path of a new database file")
        if path.exists():
            raise InputError(f"{str(path)!r} already exists; give a new path for a new study,"
                             " or load this one")
        meta = {"schema_version": str(SCHEMA_VERSION), **meta}
        storage = cls(path, meta)
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
                write_in_hand(_SQLiteSession(connection, storage.spec), in_hand)
                connection.execute("COMMIT")
            finally:
                connection.close()
            try:
                os.link(temporary, path)  # atomic, and never replaces an existing file
            except FileExistsError:
                raise InputError(f"{str(path)!r} already exists; give a new path") from None
        finally:
            Path(temporary).unlink(missing_ok=True)
        return storage

    @classmethod
    def load(cls, path: str | Path) -> SQLiteStorage:
        """Open an existing study database.

        Raises
        ------
        InputError
            ``path`` is missing, a folder, or not a fairalloc study database of a schema this
            version reads.
        """
        path = Path(path)
        if path.is_dir():
            raise InputError(f"study database {str(path)!r} is a folder, not a database file;"
                             " give the file a study was created in")
        if not path.is_file():
            raise InputError(f"study database {str(path)!r} does not exist; create a study"
                             " there first (Study.create)")
        with _connect(path) as connection, _read(connection):
            meta = _read_meta(connection, path)
        return cls(path, meta)

    @property
    def meta(self) -> Mapping[str, str]:
        return dict(self._meta)

    @property
    def location(self) -> Path:
        return self._path

    @property
    def spec(self) -> StudySpec:
        return self._spec

    @contextlib.contextmanager
    def reading(self) -> Iterator[StudyReader]:
        with _connect(self._path) as connection, _read(connection):
            yield _SQLiteSession(connection, self._spec)

    @contextlib.contextmanager
    def writing(self) -> Iterator[StudyWriter]:
        with _connect(self._path) as connection, _write(connection):
            yield _SQLiteSession(connection, self._spec)


class _SQLiteSession(StudyWriter):
    def __init__(self, connection: sqlite3.Connection, spec: StudySpec) -> None:
        self.connection = connection
        self.spec = spec

    def last_batch_number(self) -> int:
        return int(self.connection.execute(
            "SELECT coalesce(max(number), 0) FROM batches").fetchone()[0])

    def open_batch(self) -> Batch | None:
        row = self.connection.execute(
            "SELECT number, note, asked_at FROM batches WHERE told_at IS NULL"
            " ORDER BY number DESC LIMIT 1").fetchone()
        if row is None:
            return None
        number, note, asked_at = row
        asked = {group: (count, target) for group, count, target in self.connection.execute(
            "SELECT group_name, count, target_total FROM asked WHERE batch = ?", (number,))}
        targets = {name: asked[name][1] for name in self.spec.names}
        has_plan = all(value is not None for value in targets.values())
        warnings = tuple(
            f"{group}: {warning}" for group, detail in self.connection.execute(
                "SELECT group_name, detail FROM fits WHERE batch = ? ORDER BY rowid", (number,))
            for warning in json.loads(detail)["warnings"])
        return make_batch(self.spec, number, {name: asked[name][0] for name in self.spec.names},
                          targets if has_plan else None, note, asked_at, warnings)

    def state(self) -> StudyState:
        from allocate.strategies import StudyState

        sums = dict(self.connection.execute(
            "SELECT group_name, sum(count) FROM collected GROUP BY group_name").fetchall())
        collected = np.array([int(sums.get(name, 0)) for name in self.spec.names],
                             dtype=np.int64)
        measurements = self._frame("""
            SELECT group_name AS "group", n, n_total, value, seed FROM measurements
            ORDER BY row""")
        measurements = measurements.astype(
            {"group": str, "n": float, "n_total": float, "value": float, "seed": "Int64"})
        rounds = self.connection.execute(
            "SELECT count(*) FROM batches WHERE told_at IS NOT NULL AND number > 0").fetchone()[0]
        return StudyState(study=self.spec, collected=collected, measurements=measurements,
                          rounds=int(rounds))

    def asks_nothing(self, number: int) -> bool:
        return not self._frame("SELECT 1 FROM asked WHERE batch = ? AND count > 0",
                               (number,)).size

    def latest_fits(self) -> tuple[int | None, CurveFits | None]:
        row = self.connection.execute("SELECT max(batch) FROM fits").fetchone()
        if row[0] is None:
            return None, None
        number = int(row[0])
        details = [json.loads(text) for (text,) in self.connection.execute(
            "SELECT detail FROM fits WHERE batch = ? ORDER BY rowid", (number,))]
        return number, fits_from_details(details)

    def latest_plan(self) -> tuple[int | None, dict[str, float] | None]:
        row = self.connection.execute(
            "SELECT max(batch) FROM asked WHERE batch NOT IN"
            " (SELECT batch FROM asked WHERE target_total IS NULL)").fetchone()
        if row[0] is None:
            return None, None
        number = int(row[0])
        plan = dict(self.connection.execute(
            "SELECT group_name, target_total FROM asked WHERE batch = ?", (number,)).fetchall())
        return number, plan

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: self._frame(f"SELECT {', '.join(columns)} FROM {name} ORDER BY rowid")
                for name, columns in TABLE_COLUMNS.items()}

    def add_batch(self, number: int, note: str, counts: np.ndarray,
                  target_totals: np.ndarray | None, fits: CurveFits | None) -> None:
        self.connection.execute(
            "INSERT INTO batches (number, asked_at, told_at, note, fairalloc_version)"
            " VALUES (?, ?, NULL, ?, ?)", (number, now(), str(note), fairalloc_version()))
        targets = [None] * len(counts) if target_totals is None else [
            float(value) for value in np.asarray(target_totals, dtype=float)]
        self.connection.executemany(
            "INSERT INTO asked (batch, group_name, count, target_total) VALUES (?, ?, ?, ?)",
            [(number, name, int(count), target)
             for name, count, target in zip(self.spec.names, counts, targets, strict=True)])
        if fits is not None:
            self.connection.executemany(
                "INSERT INTO fits (batch, group_name, family, sense, a, b, c, t, q,"
                " residual_error, n_points, n_sizes, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", fit_rows(number, fits))

    def record_told(self, number: int, counts: np.ndarray, measurements: pd.DataFrame) -> None:
        self.connection.executemany(
            "INSERT INTO collected (batch, group_name, count) VALUES (?, ?, ?)",
            [(number, name, int(count))
             for name, count in zip(self.spec.names, counts, strict=True)])
        _insert_measurements(self.connection, number, measurements)
        self.connection.execute("UPDATE batches SET told_at = ? WHERE number = ?",
                                (now(), number))

    def _frame(self, query: str, parameters: tuple = ()) -> pd.DataFrame:
        cursor = self.connection.execute(query, parameters)
        columns = [column[0] for column in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def _insert_measurements(connection: sqlite3.Connection, number: int,
                         table: pd.DataFrame) -> None:
    connection.executemany(
        "INSERT INTO measurements (batch, group_name, n, n_total, value, seed)"
        " VALUES (?, ?, ?, ?, ?, ?)", [(number, *row) for row in measurement_rows(table)])


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


def _read_meta(connection: sqlite3.Connection, path: Path) -> dict[str, str]:
    try:
        rows = connection.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError:
        raise InputError(f"{str(path)!r} is not a fairalloc study database") from None
    meta = dict(rows)
    if "schema_version" not in meta:
        raise InputError(f"{str(path)!r} is not a fairalloc study database (no schema version)")
    if int(meta["schema_version"]) > SCHEMA_VERSION:
        raise InputError(
            f"{str(path)!r} has schema version {meta['schema_version']}, newer than this"
            f" fairalloc ({fairalloc_version()}) reads ({SCHEMA_VERSION}); upgrade fairalloc")
    return meta
