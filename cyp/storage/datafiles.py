"""The data files under ``data/``: read as YAML and checked against their JSON Schema in ``data/schemas/``.

Every module that reads a data file calls :func:`load_data_file`, so a file edited into a wrong shape is refused
the same way everywhere: with the file, the key path and the line (``data/access.yaml line 14, at
permissions.view.roles[1]: 'admin' is not one of ...``), never a ``KeyError`` deep inside a page.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from cyp.storage.config import PROJECT_ROOT

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

DATA_DIR = PROJECT_ROOT / "data"
SCHEMA_DIR = DATA_DIR / "schemas"
# More problems than this in one file are summed up: the first few say what is wrong.
MAX_REPORTED = 10


class DataFileError(ValueError):
    """A data file that is not valid YAML or not the shape its schema describes; the message says where."""


def schema_path(data_file: Path) -> Path:
    """The schema of a data file: ``data/schemas/<name>.schema.json`` (``plan-*.yaml`` files share ``plan``, and
    the framework's partners and monitoring bodies ``named-entries``)."""
    stem = "plan" if data_file.stem.startswith("plan-") else data_file.stem
    stem = "named-entries" if stem in ("partners", "monitoring-bodies") else stem
    return SCHEMA_DIR / f"{stem}.schema.json"


@cache
def _validator(schema_file: Path) -> Draft202012Validator:
    # Imported here: jsonschema costs 30 ms, which a command that reads no data file (`--help`) need not pay.
    from jsonschema import Draft202012Validator

    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def load_data_file(path: Path | str, schema: Path | None = None) -> Any:
    """The parsed YAML of ``path``, checked against its schema (default :func:`schema_path`); DataFileError if not.

    Read again only when the file changes on disk, so callers may call it on every use; the value returned is
    shared between callers and must not be modified.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise DataFileError(f"{_shown(path)}: cannot be read ({exc.strerror})") from exc
    return _load(path, schema or schema_path(path), stat.st_mtime_ns, stat.st_size)


@cache
def _load(path: Path, schema: Path, _mtime_ns: int, _size: int) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{_shown(path)}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DataFileError(f"{_shown(path)}{where}: not valid YAML ({problem})") from exc
    problems = list(_validator(schema).iter_errors(data))
    if problems:
        root = yaml.compose(text)  # the node tree, only now: its marks give each problem's line
        described = sorted(_describe(path, root, problem) for problem in problems)
        lines = [message for _, message in described[:MAX_REPORTED]]
        if len(problems) > MAX_REPORTED:
            lines.append(f"... and {len(problems) - MAX_REPORTED} more problems")
        raise DataFileError("\n".join(lines))
    return data


def _key_path(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the top level"


def _node_at(root: yaml.Node | None, parts: list[Any]) -> yaml.Node | None:
    """The YAML node at a key path, for its line: a mapping entry's key, a list's item, or the deepest one found."""
    node, where = root, root
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            entry = next(((key, value) for key, value in node.value if key.value == str(part)), None)
            if entry is None:
                return where
            where, node = entry  # the key's line: a block value starts on the line after it
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            where = node = node.value[part]
        else:
            return where
    return where


def _describe(path: Path, root: yaml.Node | None, problem: ValidationError) -> tuple[int, str]:
    """(line, message) of one problem: the file, line and key path, then what is wrong."""
    parts = list(problem.absolute_path)
    message = problem.message
    # An additionalProperties failure comes from an object schema (a mapping; a schema can also be true or false).
    schema = problem.schema
    if (
        problem.validator == "additionalProperties"
        and isinstance(problem.instance, dict)
        and isinstance(schema, Mapping)
    ):
        allowed = set(schema.get("properties", {}))
        extra = sorted(str(key) for key in problem.instance if key not in allowed)
        if extra:
            parts.append(extra[0])
            known = ", ".join(sorted(allowed))
            message = f"unknown key {extra[0]!r}" + (f"; the keys here are {known}" if known else "")
    node = _node_at(root, parts)
    line = node.start_mark.line + 1 if node is not None else 0
    return line, f"{_shown(path)}{f' line {line}' if line else ''}, at {_key_path(parts)}: {message}"
