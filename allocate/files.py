"""Writing files: check an output path before anything is written, then write it atomically.

A command that writes several files checks every path with :func:`check_output_path` first, so a
bad path writes nothing at all; each file is then written through :func:`atomic_path`, so a
reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from allocate.errors import InputError

__all__ = ["atomic_path", "check_output_path", "write_text_atomically"]


def check_output_path(
    path: str | Path, *, what: str = "output", suffixes: Iterable[str] | None = None
) -> Path:
    """Check that a file can be written at ``path``, without writing it; return it as a Path.

    The path must not name a folder or a device, pipe or socket; its folder must exist and
    accept new files (tested by creating and removing a temporary file there, so permissions,
    read-only file systems and the like all count); and its suffix must be one of ``suffixes``
    when given.

    Parameters
    ----------
    path : str or Path
        Where a file is about to be written.
    what : str
        What the path is for, used to start error messages (an argument name or a label).
    suffixes : iterable of str, optional
        The accepted suffixes, e.g. ``(".png", ".pdf", ".svg")``; compared case-insensitively.

    Returns
    -------
    Path

    Raises
    ------
    InputError
        The path names a folder or a device, pipe or socket, its folder is missing or is a
        file, the folder cannot be written, or the suffix is not accepted.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> check_output_path(folder / "curves.toml") == folder / "curves.toml"
    True
    >>> check_output_path(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    allocate.errors.InputError: output ... is a folder; give a file name inside it
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} {str(path)!r} is a folder; give a file name inside it")
    _refuse_special_file(path, what)
    if suffixes is not None:
        accepted = tuple(suffixes)
        if path.suffix.lower() not in accepted:
            raise InputError(f"{what} must end in {', '.join(accepted)}; got {str(path)!r}")
    folder = path.parent
    if not folder.exists():
        raise InputError(
            f"{what} {str(path)!r}: the folder {str(folder)!r} does not exist; create it first"
        )
    if not folder.is_dir():
        raise InputError(f"{what} {str(path)!r}: {str(folder)!r} is a file, not a folder")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=folder)
    except OSError as error:
        reason = error.strerror or str(error)
        raise InputError(
            f"{what} {str(path)!r} cannot be written: the folder {str(folder)!r} refuses new "
            f"files ({reason.lower()})"
        ) from None
    os.close(handle)
    os.unlink(name)
    return path


def _refuse_special_file(path: Path, what: str) -> None:
    """Refuse a device, pipe or socket: renaming a new file onto it would replace it."""
    if path.exists() and not path.is_file():
        raise InputError(
            f"{what} {str(path)!r} is not a regular file (a device, pipe or socket), which a "
            "new file would replace; give a file path"
        )


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it when the block succeeds.

    The temporary file keeps ``path``'s suffix (so writers that infer the format from it work)
    and is removed if the block fails. Missing parent folders are created. A device, pipe or
    socket at ``path`` is refused (:class:`~allocate.errors.InputError`), never replaced.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "table.csv"
    >>> with atomic_path(target) as temporary:
    ...     _ = temporary.write_text("a,b\\n1,2\\n")
    >>> target.read_text().splitlines()
    ['a,b', '1,2']
    """
    path = Path(path)
    _refuse_special_file(path, "path")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_path`."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
