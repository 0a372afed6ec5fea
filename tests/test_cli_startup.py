"""The command line loads a command's module only when that command runs, so `--help` and `report` start quickly.

Each check runs the command in a fresh interpreter (the test process has imported everything already) and reads
which modules it loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from sqlalchemy import Engine

from cyp.cli import COMMANDS, cli
from cyp.storage.db import write_session
from tests.returns_factory import build_framework

ROOT = Path(__file__).resolve().parent.parent

# Run the command line as `python -m cyp` does, then write the names of the modules loaded to stderr.
_PROBE = """
import json, sys
from cyp.cli import cli
try:
    cli(sys.argv[1:], prog_name="python -m cyp")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
sys.exit(code)
"""

# What neither --help nor the status report needs: the ORM models, migrations, workbooks, DataFrames, the board pack.
NOT_FOR_HELP = ("sqlalchemy", "alembic", "openpyxl", "pandas", "cyp.storage.models", "cyp.framework.workbook", "typst")
NOT_FOR_REPORT = ("alembic", "openpyxl", "pandas", "cyp.framework.workbook", "typst", "cyp.board", "cyp.returns.ingest")


def run_probe(*args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    modules = json.loads(done.stderr.rpartition("\nMODULES ")[2])
    return done, set(modules)


def loaded(modules: set[str], prefix: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for name in modules)


def test_help_lists_every_command_and_loads_no_command_module():
    done, modules = run_probe("--help")
    assert done.returncode == 0, done.stderr
    for name in COMMANDS:
        assert f"\n  {name} " in done.stdout
    assert [prefix for prefix in NOT_FOR_HELP if loaded(modules, prefix)] == []
    command_modules = {f"cyp.cli.{module}" for module, _, _ in COMMANDS.values()}
    assert modules & command_modules == set()


def test_report_loads_only_what_a_report_needs(engine: Engine):
    with write_session(engine) as session:
        build_framework(session)
    done, modules = run_probe("report", "--quarter", "2025-26 Q3", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["plan"] == "T2023"
    assert "cyp.cli.reports" in modules
    assert [prefix for prefix in NOT_FOR_REPORT if loaded(modules, prefix)] == []
    assert modules & {"cyp.cli.returns", "cyp.cli.board", "cyp.cli.users"} == set()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listed_help_is_the_first_paragraph_of_the_commands_own(name: str):
    command = cli.get_command(click.Context(cli), name)
    assert command is not None and command.name == name
    assert COMMANDS[name][2] == " ".join((command.help or "").split("\n\n")[0].split())


def test_an_unknown_command_is_a_usage_error():
    done, _ = run_probe("nosuch")
    assert done.returncode == 2
    assert "No such command 'nosuch'" in done.stderr
