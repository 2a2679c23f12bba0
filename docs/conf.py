"""Sphinx configuration for fairalloc's documentation (``make docs``).

The API pages are generated at build time from the ``__all__`` lists of ``allocate`` and
``simulate`` (see ``_ext/api_pages.py``), so a name added to or moved between modules appears
without editing the docs; the command-line reference is generated from the Typer app.
"""

from __future__ import annotations

import sys
from importlib.metadata import version as _version
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))

project = "fairalloc"
author = "the fairalloc developers"
copyright = "2026, the fairalloc developers"
release = _version("fairalloc")
version = release

extensions = [
    "myst_nb",  # MyST pages and executed notebooks (it loads myst_parser itself)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinxcontrib.typer",
    "api_pages",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "jupyter_execute"]
templates_path = ["_templates"]

# MyST: $...$ maths, ::: fences, definition lists, anchors for ## headings
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks and MyST-NB pages execute on every build; their outputs in git are ignored. A cell
# that raises fails the build (with -W, so does any warning it emits).
nb_execution_mode = "force"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# API reference: numpydoc renders the docstrings; autosummary makes one page per public name.
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "undoc-members": False}
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # members are documented on the class page itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "furo"
html_title = f"fairalloc {release}"
html_static_path: list[str] = []
