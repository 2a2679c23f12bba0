"""Write the API reference pages from the packages' ``__all__`` lists, before autosummary runs.

Each public name is documented through its package (``allocate.plan``, not the module that
happens to define it), so a refactor that moves a name between modules leaves the docs as they
are, and a name added to ``__all__`` gets its page on the next build. Names are grouped by kind:
classes, functions, errors and constants.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

#: The documented packages: (package, page title, what the page says first).
PACKAGES = (
    (
        "allocate",
        "allocate: planning library",
        "Learning curves, their fits, plans, sampling strategies and studies. Everything here "
        "is importable from the package itself (``from allocate import plan``); names load on "
        "first use, so importing ``allocate`` is fast.",
    ),
    (
        "simulate",
        "simulate: cohorts, polygenic scores and the benchmark",
        "msprime cohorts under the out-of-Africa model, phenotypes, polygenic risk scores, "
        "their metrics and the benchmark of sampling strategies.",
    ),
)

KINDS = ("Classes", "Functions", "Errors", "Constants")


def kind_of(value: object) -> str:
    """The section a public object is listed under."""
    if inspect.isclass(value):
        return "Errors" if issubclass(value, BaseException) else "Classes"
    if callable(value):
        return "Functions"
    return "Constants"


def page_text(package: str, title: str, intro: str) -> str:
    """The reStructuredText of one package's API page."""
    module = importlib.import_module(package)
    sections: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for name in sorted(module.__all__, key=str.lower):
        sections[kind_of(getattr(module, name))].append(name)
    lines = [title, "=" * len(title), "", intro, "", f".. currentmodule:: {package}", ""]
    for kind, names in sections.items():
        if not names:
            continue
        lines += [kind, "-" * len(kind), "", ".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name}" for name in names] + [""]
    return "\n".join(lines)


def write_api_pages(app, config) -> None:
    """Write ``api/<package>.rst`` for each package, leaving unchanged pages untouched."""
    folder = Path(app.srcdir) / "api"
    folder.mkdir(exist_ok=True)
    for package, title, intro in PACKAGES:
        path = folder / f"{package}.rst"
        text = page_text(package, title, intro)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def setup(app):
    # autosummary generates its stub pages on builder-inited from the documents found then:
    # the pages must exist before Sphinx looks for documents
    app.connect("config-inited", write_api_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
