"""The package's promises: an honest public API and a command line that starts light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import allocate
import simulate

SIMULATE_FILES = sorted(Path(simulate.__file__).parent.glob("*.py"))


@pytest.mark.parametrize(
    ("package", "name"),
    [(package, name) for package in (allocate, simulate) for name in package.__all__],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_every_public_name_is_importable(package, name):
    assert getattr(package, name) is not None


def _imports(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Every import of a file, at module level or inside a function: (module, names)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, tuple(alias.name for alias in node.names)))
        elif isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
    return found


@pytest.mark.parametrize("path", SIMULATE_FILES, ids=lambda path: path.name)
def test_simulate_uses_allocate_only_through_its_public_names(path):
    for module, names in _imports(path):
        if module.split(".")[0] != "allocate":
            continue
        assert module == "allocate", f"{path.name} imports {module}; import from allocate"
        private = sorted(set(names) - set(allocate.__all__))
        assert not private, f"{path.name} imports {private}, not in allocate.__all__"


def test_no_import_cycle_among_simulate_modules():
    modules = {path.stem: path for path in SIMULATE_FILES if path.stem != "__init__"}
    needs = {
        name: {
            module.removeprefix("simulate.") for module, _ in _imports(path)
            if module.startswith("simulate.") and module.removeprefix("simulate.") in modules
        }  # fmt: skip
        for name, path in modules.items()
    }
    done: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        for needed in sorted(needs[name]):
            assert needed not in chain, f"import cycle: {' -> '.join((*chain, needed))}"
            if needed not in done:
                visit(needed, (*chain, needed))
        done.add(name)

    for name in sorted(modules):
        visit(name, (name,))


def test_the_command_line_does_not_import_heavy_modules():
    code = (
        "import sys, allocate.cli; "
        "heavy = [m for m in ('simulate', 'msprime', 'tskit', 'cvxpy', 'matplotlib') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def _modules():
    import importlib
    import pkgutil

    import simulate

    for package in (allocate, simulate):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            yield importlib.import_module(info.name)


@pytest.mark.parametrize("module", list(_modules()), ids=lambda m: m.__name__)
def test_docstring_examples_run(module):
    import doctest

    failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failures == 0
