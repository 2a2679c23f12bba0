"""Where the persisted study used to live; kept so that existing imports keep working.

The study is now split by concept: :mod:`allocate.study` (the ask/tell facade),
:mod:`allocate.study_records` (batches and status), :mod:`allocate.study_storage` (the storage
interface and the in-memory backend), :mod:`allocate.study_sqlite` (the SQLite backend),
:mod:`allocate.study_checks` (the checks of what is proposed and told) and
:mod:`allocate.study_results` (a batch's results file). Import from ``allocate`` itself.
"""

from __future__ import annotations

from allocate.study import Study
from allocate.study_records import Batch, GroupStatus, StudyStatus
from allocate.study_results import read_results
from allocate.study_sqlite import SCHEMA_VERSION

__all__ = ["Batch", "GroupStatus", "Study", "StudyStatus", "SCHEMA_VERSION", "read_results"]
