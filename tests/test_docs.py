"""The documentation builds with warnings as errors, executes its tutorials, and covers the code.

One build (the same command as ``make docs``, into a temporary folder) serves every test here.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer

import allocate
import simulate
from allocate.cli import app
from allocate.strategies import STRATEGIES
from allocate.study_file import UTILITIES

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built HTML site; the build must finish without a single warning."""
    out = tmp_path_factory.mktemp("docs")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
               "-d", str(out / "doctrees"), str(DOCS), str(out / "html")]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-6000:]}"
    return out / "html"


class _Text(HTMLParser):
    """The visible text of a page's main content, with the id of the section each part is in."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: dict[str, list[str]] = {"": []}
        self.current = ""
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in ("script", "style"):
            self.skip += 1
        if tag == "section" and attributes.get("id"):
            self.current = attributes["id"]
            self.sections.setdefault(self.current, [])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.sections[self.current].append(data)


def page_sections(path: Path) -> dict[str, str]:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return {key: html.unescape("".join(parts)) for key, parts in parser.sections.items()}


def page_text(path: Path) -> str:
    return "\n".join(page_sections(path).values())


def commands(command, path=("fairalloc",)):
    """Every command of the click tree under ``command``, with its path of names."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


def test_every_command_and_option_has_its_section_in_the_cli_reference(site):
    sections = page_sections(site / "cli.html")
    root = typer.main.get_command(app)
    listed = list(commands(root))
    assert len(listed) > 5
    for path, command in listed:
        section = sections.get("-".join(path))
        assert section is not None, f"no section for {' '.join(path)}"
        for parameter in command.params:
            for name in parameter.opts:
                if name.startswith("--"):
                    assert name in section, f"{' '.join(path)}: {name} is not documented"


@pytest.mark.parametrize("package", [allocate, simulate], ids=lambda p: p.__name__)
def test_every_public_name_has_an_api_page_through_its_package(site, package):
    for name in package.__all__:
        qualified = f"{package.__name__}.{name}"
        page = site / "api" / "generated" / f"{qualified}.html"
        assert page.exists(), f"no API page for {qualified}"
        assert f'id="{qualified}"' in page.read_text(encoding="utf-8"), qualified


def test_the_tutorials_ran_and_show_their_output(site):
    notebook = (site / "tutorials" / "study_design.html").read_text(encoding="utf-8")
    assert len(re.findall(r"<img[^>]+\.png", notebook)) == 3  # curves, performance, path
    assert "Learning curves (power-offset" in notebook  # the fit's summary, printed when run
    digits = (site / "tutorials" / "digits.html").read_text(encoding="utf-8")
    assert len(re.findall(r"<img[^>]+\.png", digits)) == 1  # the fitted curves
    assert "Collection replayed on the pool" in digits and "water-filling" in digits
    start = page_text(site / "start.html")
    assert "Plan (weighted" in start and "objective" in start
    assert "Traceback" not in notebook + digits + start


def test_the_method_page_names_every_utility_and_strategy(site):
    text = page_text(site / "method.html")
    for name in (*UTILITIES, *STRATEGIES):
        assert name in text, f"the method page does not describe {name!r}"
    assert "References" in text


def test_no_file_in_the_repository_names_the_team_folder_outside_it():
    needle = ".." + "/shared"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)  # fmt: skip
    if listed.returncode == 0:
        files = [ROOT / line for line in listed.stdout.splitlines()]
    else:  # not a git checkout
        skip = {".git", ".venv", ".ci", "_build"}
        files = [p for p in ROOT.rglob("*") if not skip & set(p.relative_to(ROOT).parts)]
    offenders = []
    for path in files:
        if ".ci" in path.relative_to(ROOT).parts or not path.is_file():
            continue
        try:
            if needle in path.read_text(encoding="utf-8"):
                offenders.append(str(path.relative_to(ROOT)))
        except (UnicodeDecodeError, OSError):
            continue
    assert not offenders, f"these files name {needle}: {offenders}"
