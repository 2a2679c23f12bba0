"""Output paths are checked before anything is written, and files are written atomically."""

from __future__ import annotations

import os

import pytest

from allocate.errors import InputError
from allocate.files import atomic_path, check_output_path, write_text_atomically


def test_a_writable_path_passes_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "curves.toml"
    assert check_output_path(target) == target
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp, "is a folder; give a file name inside it"),
        (lambda tmp: tmp / "missing" / "x.png", "the folder .* does not exist; create it first"),
        (lambda tmp: tmp / "file.txt" / "x.png", "is a file, not a folder"),
        (lambda tmp: tmp / "figure.jpg", r"plot must end in .png, .svg; got"),
    ],
)
def test_paths_that_cannot_be_written_are_refused_in_words(tmp_path, make, message):
    (tmp_path / "file.txt").write_text("x")
    before = sorted(tmp_path.iterdir())
    with pytest.raises(InputError, match=message):
        check_output_path(make(tmp_path), what="plot", suffixes=(".png", ".svg"))
    assert sorted(tmp_path.iterdir()) == before


def test_a_folder_that_refuses_new_files_is_refused(tmp_path, monkeypatch):
    import tempfile

    def refuse(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(InputError, match=r"refuses new files \(permission denied\)"):
        check_output_path(tmp_path / "x.toml", what="--output")


def test_a_pipe_is_never_replaced(tmp_path):
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match="is not a regular file"):
        check_output_path(pipe)
    with pytest.raises(InputError, match="is not a regular file"):
        write_text_atomically(pipe, "text")
    assert not pipe.is_file() and pipe.exists()  # still the pipe


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
