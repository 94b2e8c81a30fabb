"""The ``bondpremia`` command line: one Typer sub-app per stage.

Errors a user can cause (:class:`~bondpremia.errors.InputError`) end the command with exit code 2 and a
one-line message on stderr, never a traceback. A routine that does not converge
(:class:`~bondpremia.errors.ConvergenceError`) ends with exit code 3 and one line. Ctrl-C ends with "Aborted!" and
exit code 1; commands that write a run folder leave nothing behind then (:mod:`bondpremia.rundir`). Usage errors
(unknown option, missing argument) exit with code 2. Any other exception is a bug: its traceback is printed, with
a line saying so.
"""

from __future__ import annotations

import sys

import typer

from bondpremia.cli.bond import app as bond_app
from bondpremia.cli.characteristics import app as characteristics_app
from bondpremia.cli.demo import demo
from bondpremia.cli.ipca import app as ipca_app
from bondpremia.cli.portfolio import app as portfolio_app
from bondpremia.cli.report import report
from bondpremia.cli.simulate import app as simulate_app
from bondpremia.cli.strategy import app as strategy_app
from bondpremia.cli.trace import app as trace_app
from bondpremia.cli.treasury import app as treasury_app
from bondpremia.errors import ConvergenceError, InputError

app = typer.Typer(
    name="bondpremia",
    help="Empirical fixed-income research: bond math, TRACE, characteristics, IPCA, Treasury risk premia.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(bond_app, name="bond")
app.add_typer(characteristics_app, name="characteristics")
app.add_typer(ipca_app, name="ipca")
app.add_typer(portfolio_app, name="portfolio")
app.add_typer(strategy_app, name="strategy")
app.add_typer(simulate_app, name="simulate")
app.add_typer(trace_app, name="trace")
app.add_typer(treasury_app, name="treasury")
app.command("demo")(demo)
app.command("report")(report)


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    try:
        app(args=argv, standalone_mode=True)  # usage errors: exit 2; Ctrl-C: "Aborted!", exit 1
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except ConvergenceError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(3)
    except Exception:
        print("internal error in bondpremia (a bug, not your input): please report it with the traceback below",
              file=sys.stderr)
        raise


__all__ = ["app", "main"]
