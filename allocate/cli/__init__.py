"""The ``fairalloc`` command line: a thin shell over the library.

Each command parses its options, calls one library function and formats what it returns.
Errors are printed as one line on stderr with exit code 2; the library never prints.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from allocate.errors import FairallocError


class _TidyHelpGroup(TyperGroup):
    """The root command group, which tidies every command's help as it is built.

    Typer's help shows an on/off flag with a ``<bool>`` value it does not take, and a required
    argument as ``{name}`` in the usage line; every command (and sub-command) here gets flags
    without a value placeholder and arguments named in capitals (``POINTS``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _tidy_commands(self)


def _tidy_commands(command: Any) -> None:
    """Make ``command`` and its sub-commands tidy each parameter as the help lists it."""
    for child in getattr(command, "commands", {}).values():
        _tidy_commands(child)
    original = command.get_params

    def tidy_params(ctx, original=original):
        params = original(ctx)
        for param in params:
            _tidy_param(param)
        return params

    command.get_params = tidy_params


def _tidy_param(param: Any) -> None:
    if isinstance(param, TyperOption) and param.is_flag:
        param.display_type_rich = lambda ctx: None
    elif isinstance(param, TyperArgument):
        if param.metavar is None:
            param.metavar = param.name.upper()
        label = param.metavar if param.required else f"[{param.metavar}]"
        param.get_usage_pieces = lambda ctx, label=label: [label + ("..." if param.nargs != 1
                                                                    else "")]


app = typer.Typer(
    name="fairalloc",
    help="Split a data-collection budget across groups so the model serves every group well.",
    cls=_TidyHelpGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Commands register themselves on `app` when their module is imported (see the end of this file).


def _print_version(requested: bool) -> None:
    if requested:
        from importlib.metadata import version

        typer.echo(f"fairalloc {version('fairalloc')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print fairalloc's version and exit.",
                     callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Split a data-collection budget across groups so the model serves every group well."""


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the exit to raise (code 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        result = app(args=argv, prog_name="fairalloc", standalone_mode=False)
    except typer.Abort:
        typer.echo("error: interrupted", err=True)
        return 130
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:  # usage errors: bad option, missing argument...
        if not error.format_message():  # no arguments at all: the help was shown
            return 2
        command = getattr(getattr(error, "ctx", None), "command_path", "fairalloc")
        typer.echo(f"error: {error.format_message()} (see '{command} --help')", err=True)
        return 2
    except FairallocError as error:
        typer.echo(f"error: {error}", err=True)
        return 2
    except OSError as error:  # a file that passed its checks and then failed (disk full...)
        where = f" {error.filename!r}" if error.filename else ""
        typer.echo(f"error: cannot write or read{where}: {error.strerror or error}", err=True)
        return 2
    return result if isinstance(result, int) else 0


# Command modules under allocate/cli/, imported for their @app.command registrations. Keep heavy
# imports (cvxpy, msprime, matplotlib) inside the command functions so `fairalloc --help` is fast.
COMMAND_MODULES: tuple[str, ...] = (
    "fit_command",
    "plan_command",
    "study_command",
    "bench_command",
    "simulate_command",
    "measure_command",
)

for _module in COMMAND_MODULES:
    importlib.import_module(f"allocate.cli.{_module}")
