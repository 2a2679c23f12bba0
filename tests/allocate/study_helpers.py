"""Helpers shared by the study store and study command tests."""

from __future__ import annotations

import hashlib
import sqlite3


def snapshot(path) -> tuple[str, list[str]]:
    """The file's bytes (as a hash) and a full SQL dump: what 'untouched' means."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    connection = sqlite3.connect(path)
    try:
        return digest, list(connection.iterdump())
    finally:
        connection.close()
