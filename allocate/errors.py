"""The project's exceptions: one root, a few specific kinds.

Library code raises these; only the command line turns them into a one-line message and
exit code 2.
"""

from __future__ import annotations

__all__ = [
    "FairallocError",
    "InputError",
    "FitError",
    "StudyFileError",
    "InfeasibleStudy",
]


class FairallocError(Exception):
    """Root of every error fairalloc raises on purpose (bad input, infeasible studies...)."""


class InputError(FairallocError, ValueError):
    """A table, argument or value that cannot be used as given."""


class FitError(FairallocError):
    """A learning curve that cannot be fitted (too few sizes, no convergence)."""


class StudyFileError(FairallocError):
    """A study file that cannot be read: bad TOML, unknown field, wrong type."""


class InfeasibleStudy(FairallocError):
    """A study whose constraints cannot all hold; the message says which and why."""
