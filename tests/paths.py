"""Where the repository's own files are, for the tests that read them (examples, pyproject)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
