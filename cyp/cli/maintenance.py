"""Looking after the database and the uploads folder: check, backup, restore."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cyp.storage.config import get_settings
from cyp.storage.db import get_engine, read_session
from cyp.storage.maintenance import (
    BackupError,
    backup_database,
    check_database,
    check_uploads,
    remove_stray,
    restore_database,
)


@click.command()
@click.option("--clean", is_flag=True, help="Delete the stray files found in the uploads folder.")
def check(clean: bool) -> None:
    """Check the database and reconcile the uploads folder with it.

    Every stored return must have its file with a matching SHA-256 (demo returns have none); files
    no return names, such as one half-written when a process was killed, are stray. Exit status 1 when
    anything is wrong (stray files removed by --clean no longer count). Use --clean only while no upload
    is in progress: an upload's file is written just before its transaction commits.

    \b
    Example:
      python -m cyp check --clean
    """
    uploads_dir = get_settings().uploads_dir
    with read_session(get_engine()) as session:
        problems = check_database(session)
        files = check_uploads(session, uploads_dir)
    for problem in problems:
        click.echo(f"database: {problem}", err=True)
    for label in files.missing:
        click.echo(f"missing file: {label}", err=True)
    for label in files.mismatched:
        click.echo(f"SHA-256 mismatch: {label}", err=True)
    removed = remove_stray(files) if clean else []
    for path in files.stray:
        click.echo(f"{'removed' if clean else 'stray'}: {path}", err=not clean)
    demo = f" ({files.skipped_demo} demo returns have no file)" if files.skipped_demo else ""
    click.echo(
        f"Checked the database and {files.checked} stored files in {uploads_dir}{demo}: "
        f"{len(problems)} database problems, {len(files.missing)} missing, {len(files.mismatched)} mismatched, "
        f"{len(files.stray)} stray" + (f" ({len(removed)} removed)." if clean else ".")
    )
    sys.exit(1 if problems or files.missing or files.mismatched or (files.stray and not clean) else 0)


@click.command()
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Backup file.")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def backup(out_path: Path, force: bool) -> None:
    """Write a consistent copy of the database while the app keeps running.

    SQLite: the online backup API, giving a SQLite file. PostgreSQL: pg_dump's custom format when
    pg_dump is installed, otherwise instructions for running it. The uploads folder is plain files:
    copy it as well (e.g. rsync) after the database.

    \b
    Example:
      python -m cyp backup --out backups/cyp-2026-11-23.db
    """
    try:
        click.echo(backup_database(get_engine(), out_path, force=force))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing database.")
def restore(file: Path, force: bool) -> None:
    """Replace the database (CYP_DATABASE_URL) with a backup made by `backup`.

    Refuses when the database already exists unless --force. Stop the app first.

    \b
    Example:
      python -m cyp restore backups/cyp-2026-11-23.db --force
    """
    try:
        click.echo(restore_database(get_engine(), file, force=force))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
