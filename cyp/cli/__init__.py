"""The command line, ``python -m cyp``: thin click commands over the same ``cyp`` functions the pages call.

Every command opens the database, calls one library function and prints its result; none holds logic of its own.
This module is the parser: the top-level group and the list of commands. Each command lives in a module of this
package by what it works on (:mod:`cyp.cli.returns`, :mod:`cyp.cli.users`, ...), which imports what it needs at
its top.
"""

from __future__ import annotations

import importlib

import click

from cyp.storage.datafiles import DataFileError

# Each command: (module in cyp.cli, the click command's name there, its one-line help for `--help`). The help is
# the first paragraph of the command's docstring (tests/test_cli_startup.py checks that they agree).
#
# The one exception to "imports at the top" in the command line: a command's module is imported only when that
# command runs (or its own --help is asked for). Measured with `python -X importtime -m cyp --help` on the 2-CPU
# development machine: the single cyp/cli.py's top-level imports alone cost 0.25 s of every start-up, `--help`
# included (SQLAlchemy and the models 0.14 s); every command's module up front would add alembic, openpyxl, pandas
# (0.19 s) and the board pack's Typst and Altair. `--help` now takes 0.05 s, `report` 0.36 s instead of 0.62 s.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "backup": ("maintenance", "backup", "Write a consistent copy of the database while the app keeps running."),
    "check": ("maintenance", "check", "Check the database and reconcile the uploads folder with it."),
    "demo": (
        "demo",
        "demo",
        "Generate plausible demonstration returns for every team across past quarters, labelled as demo data.",
    ),
    "display-link": (
        "display",
        "display_link",
        "Links that sign a meeting-room screen in with the display role, until revoked.",
    ),
    "export": (
        "board",
        "export",
        "Write the board pack for a quarter: tagged PDF (PDF/UA-1, with charts) or Excel, chosen by the file's "
        "extension.",
    ),
    "framework": ("framework", "framework", "Export and import the plan framework as a spreadsheet."),
    "ingest": (
        "returns",
        "ingest",
        "Validate a filled-in return and store it as the team's new version for its quarter.",
    ),
    "init": ("bootstrap", "init", "Create or upgrade the database schema and load the plan framework."),
    "make-current": (
        "returns",
        "make_current",
        "Make an earlier version current again: store its file (already stored, not current) as a new version.",
    ),
    "question": (
        "cycle",
        "question",
        "Board questions and actions on a line, carried into the team's next template until answered.",
    ),
    "redact": (
        "returns",
        "redact",
        "Redact a stored update's text (every version of the quarter) and the kept files that hold it.",
    ),
    "remind": (
        "cycle",
        "remind",
        "Send the reminders, digests and sent-back notices that are due (for cron or a systemd timer).",
    ),
    "report": (
        "reports",
        "report",
        "Print the status of every line and outcome for a quarter (JSON format: docs/report-json.md).",
    ),
    "restore": ("maintenance", "restore", "Replace the database (CYP_DATABASE_URL) with a backup made by `backup`."),
    "signoff": ("cycle", "signoff", "Sign off returns, or send them back with a reason (when CYP_SIGNOFF=1)."),
    "template": (
        "returns",
        "template",
        "Write the return workbook for one team and quarter, with last quarter's answers filled in.",
    ),
    "token": (
        "tokens",
        "token",
        "Issue, list and revoke data API tokens (Power BI, Excel Power Query, R). Runs as the system.",
    ),
    "user": (
        "users",
        "user",
        "Manage accounts: roles, teams, passwords. Runs as the system (shell access is already full access).",
    ),
}


class _Commands(click.Group):
    """The top-level group: commands loaded when they run, and a data file edited into a wrong shape reported as a
    clear message naming it, not a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(f"cyp.cli.{module}"), attribute)
        assert isinstance(command, click.Command), f"cyp.cli.{module}.{attribute} is not a click command"
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # As click.Group does it, but from COMMANDS, so that listing the commands imports none of their modules.
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DataFileError as exc:
            raise click.ClickException(f"a data file needs fixing:\n{exc}") from exc


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """CYP Plan Monitor: Barnet's Children and Young People's Plan, quarter by quarter.

    \b
    Example:
      python -m cyp init
    """


def main() -> None:
    """Run the command line (``python -m cyp``)."""
    cli()
