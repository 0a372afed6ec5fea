"""The data files: each has a JSON Schema, passes it, and a file edited into a wrong shape is refused saying where."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest

from cyp.access.permissions import ROLES, Role, load_access_rules
from cyp.status import STATUSES, StatusRulesError, load_rollup_rule
from cyp.storage.datafiles import DATA_DIR, SCHEMA_DIR, DataFileError, load_data_file, schema_path

ROOT = Path(__file__).resolve().parent.parent
DATA_FILES = sorted(DATA_DIR.glob("*.yaml")) + sorted((DATA_DIR / "framework").glob("*.yaml"))


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda path: str(path.relative_to(DATA_DIR)))
def test_every_data_file_has_a_schema_and_passes_it(path: Path) -> None:
    assert schema_path(path).exists(), f"{path.name} has no schema in data/schemas/"
    assert load_data_file(path) is not None


def test_every_schema_is_used() -> None:
    used = {schema_path(path) for path in DATA_FILES}
    assert sorted(SCHEMA_DIR.glob("*.schema.json")) == sorted(used)


def test_every_module_reads_data_files_through_the_one_loader() -> None:
    # cyp/framework reads its files with a line-keeping loader and its own checker; cyp/web/api.py reads the OpenAPI
    # description it serves, which is not a data file. Nothing else parses YAML.
    readers = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "cyp").rglob("*.py")
        if re.search(r"yaml\.(safe_)?load\(", path.read_text(encoding="utf-8"))
    }
    assert readers - {"cyp/framework/files.py", "cyp/web/api.py"} == {"cyp/storage/datafiles.py"}


def test_roles_and_statuses_in_the_schemas_are_the_ones_the_code_knows() -> None:
    access = json.loads((SCHEMA_DIR / "access.schema.json").read_text(encoding="utf-8"))
    assert tuple(access["$defs"]["role"]["enum"]) == ROLES == get_args(Role)
    rules = json.loads((SCHEMA_DIR / "status-rules.schema.json").read_text(encoding="utf-8"))
    assert tuple(rules["properties"]["statuses"]["required"]) == STATUSES


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def access_file(tmp_path: Path, change: tuple[str, str]) -> Path:
    text = (DATA_DIR / "access.yaml").read_text(encoding="utf-8")
    assert change[0] in text
    return write(tmp_path, "access.yaml", text.replace(change[0], change[1], 1))


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (
            (
                "    roles: [administrator, lead, viewer, display, approver]",
                "    roles: [administrator, leed, viewer, display, approver]",
            ),
            "permissions.view.roles[1]",
            "'leed' is not one of ['administrator', 'lead', 'viewer', 'display', 'approver']",
        ),
        (("  lock_after: 5", "  lock_after: five"), "sign_in.lock_after", "'five' is not of type 'integer'"),
        (
            ("  lock_minutes: 15", "  lock_minutes: 15\n  lock_hours: 1"),
            "sign_in.lock_hours",
            "unknown key 'lock_hours'; the keys here are client_lock_after, client_lock_minutes, lock_after, "
            "lock_minutes, min_password_length, slow_down_after, trusted_proxy_hops, window_minutes",
        ),
        (("    label: submit a return\n", ""), "permissions.return.submit", "'label' is a required property"),
    ],
)
def test_a_bad_access_file_is_refused_naming_file_key_and_line(
    tmp_path: Path, change: tuple[str, str], where: str, says: str
) -> None:
    path = access_file(tmp_path, change)
    expected_line = line_of(path, where.rsplit(".", 1)[-1].split("[")[0] + ":")
    if where == "permissions.return.submit":
        expected_line = line_of(path, "return.submit:")
    with pytest.raises(DataFileError) as refused:
        load_access_rules(path)
    assert str(refused.value) == f"{path} line {expected_line}, at {where}: {says}"


def test_every_problem_in_a_file_is_listed_in_line_order(tmp_path: Path) -> None:
    path = access_file(tmp_path, ("  lock_after: 5\n  lock_minutes: 15", "  lock_after: 0\n  lock_minutes: soon"))
    with pytest.raises(DataFileError) as refused:
        load_access_rules(path)
    assert str(refused.value).splitlines() == [
        f"{path} line {line_of(path, '  lock_after:')}, at sign_in.lock_after: 0 is less than the minimum of 1",
        f"{path} line {line_of(path, '  lock_minutes:')}, at sign_in.lock_minutes: 'soon' is not of type 'integer'",
    ]


def test_a_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "access.yaml", "permissions:\n  view: [unclosed\nsign_in: {}\n")
    with pytest.raises(DataFileError, match=rf"^{re.escape(str(path))} line 3: not valid YAML"):
        load_access_rules(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="nothing.yaml: cannot be read"):
        load_data_file(tmp_path / "nothing.yaml", SCHEMA_DIR / "access.schema.json")


def test_a_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "status-rules.yaml", "rollup: {red_share: 0.3}\n")
    assert load_rollup_rule(path).red_share == 0.3
    path.write_text("rollup: {red_share: 0.45}\n", encoding="utf-8")
    assert load_rollup_rule(path).red_share == 0.45


def test_a_bad_status_rules_file_is_a_status_rules_error_naming_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "status-rules.yaml", "rollup:\n  red_share: 0.25\n  amber_share: 2\n")
    with pytest.raises(StatusRulesError) as refused:
        load_rollup_rule(path)
    assert str(refused.value) == f"{path} line 3, at rollup.amber_share: 2 is greater than the maximum of 1"


def test_a_bad_framework_file_names_the_record(tmp_path: Path) -> None:
    text = (DATA_DIR / "framework" / "partners.yaml").read_text(encoding="utf-8")
    path = write(
        tmp_path, "partners.yaml", text.replace('{ref: housing, name: "Housing"', '{ref: Housing!, name: "Housing"')
    )
    with pytest.raises(DataFileError) as refused:
        load_data_file(path)
    number = line_of(path, "Housing!")
    index = [line for line in path.read_text().splitlines() if line.startswith("- ")].index(
        next(line for line in path.read_text().splitlines() if "Housing!" in line)
    )
    assert str(refused.value).startswith(f"{path} line {number}, at [{index}].ref: 'Housing!' does not match")


def test_a_file_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_bytes("sign_in:\n  note: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataFileError, match=r"access.yaml: not UTF-8 text \(byte 20\); save it as UTF-8"):
        load_access_rules(path)
