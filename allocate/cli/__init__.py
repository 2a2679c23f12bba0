"""The ``fairalloc`` command line: a thin shell over the library.

Each command parses its options, calls one library function and formats what it returns.
Errors are printed as one line on stderr with exit code 2; the library never prints.
"""

from __future__ import annotations

import sys

import click
import typer

from allocate.errors import FairallocError

app = typer.Typer(
    name="fairalloc",
    help="Split a data-collection budget across groups so the model serves every group well.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Commands register themselves on `app` when their module is imported (see the end of this file).


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the exit to raise (code 2)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        result = app(args=argv, prog_name="fairalloc", standalone_mode=False)
    except click.UsageError as error:
        hint = f" (see 'fairalloc {error.ctx.command_path.split(' ', 1)[-1]} --help')" if (
            error.ctx is not None and " " in error.ctx.command_path
        ) else " (see 'fairalloc --help')"
        typer.echo(f"error: {error.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as error:
        typer.echo(f"error: {error.format_message()}", err=True)
        return 2
    except click.exceptions.Abort:
        typer.echo("error: interrupted", err=True)
        return 130
    except FairallocError as error:
        typer.echo(f"error: {error}", err=True)
        return 2
    except (typer.Exit, click.exceptions.Exit) as done:
        return done.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


# Command modules, imported for their @app.command registrations. Keep heavy imports
# (cvxpy, msprime, matplotlib) inside the command functions so `fairalloc --help` stays fast.
from allocate.cli import (  # noqa: E402, F401
)
