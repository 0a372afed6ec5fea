"""Make the LibreOffice-written returns under tests/data/libreoffice/ with LibreOffice itself (``soffice --headless``).

    .venv/bin/python -m tests.data.make_libreoffice_fixtures          # writes tests/data/libreoffice/*.xlsx, *.ods

The app writes Family Services' 2025-26 Q3 template for the test framework (tests/returns_factory.py), the lead's
answers are filled in, and LibreOffice Calc (Debian's ``libreoffice-calc-nogui``) opens it, as a lead would, and
saves it:

- ``deleted-row.xlsx``: row 2 (empty) of the Return sheet deleted, then saved as Excel 2007-365. LibreOffice then
  declares the whole height (``<dimension ref="A1:H1048576"/>``) and writes an empty styled row 1,048,576.
- ``resaved.xlsx``: opened and saved as Excel 2007-365 with no change.
- ``saved-as.ods``: saved in LibreOffice's own format, which the upload refuses with LibreOffice's menu to use.

A Basic macro in a throwaway LibreOffice profile does the editing; nothing is downloaded.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from cyp.returns.template import write_template
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.schema import upgrade_schema
from tests.returns_factory import build_framework, fill_template

OUT = Path(__file__).parent / "libreoffice"
ANSWERS = {
    "T23-1.1": ("Green", "Hubs open five days a week.", "Extend to Saturdays.", None),
    "T23-1.2": ("Amber", "Second hub delayed by building works.", None, "Contractor capacity."),
}
VALUES = {"T23-I1": 161}

# Excel 2007-365 and OpenDocument Spreadsheet, as LibreOffice names its export filters.
XLSX_FILTER = "Calc MS Excel 2007 XML"
ODS_FILTER = "calc8"

MACRO = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">
Sub SaveEdited(source As String, target As String, filterName As String, deleteRow As Long)
  Dim load(0) As New com.sun.star.beans.PropertyValue
  load(0).Name = "Hidden"
  load(0).Value = True
  document = StarDesktop.loadComponentFromURL(ConvertToURL(source), "_blank", 0, load())
  If deleteRow &gt;= 0 Then
    sheet = document.Sheets.getByName("Return")
    sheet.unprotect("")
    sheet.Rows.removeByIndex(deleteRow, 1)
  End If
  Dim store(0) As New com.sun.star.beans.PropertyValue
  store(0).Name = "FilterName"
  store(0).Value = filterName
  document.storeToURL(ConvertToURL(target), store())
  document.close(True)
End Sub
</script:module>
"""


def soffice() -> str | None:
    """The LibreOffice command, or None when LibreOffice is not installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def filled_template() -> bytes:
    """Family Services' 2025-26 Q3 template, written by the app for the test framework and filled in."""
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'fixtures.db'}")
        upgrade_schema(engine)
        with write_session(engine) as session:
            build_framework(session)
        with read_session(engine) as session:
            template = write_template(session, "Family Services", "2025-26 Q3")
        engine.dispose()
    return fill_template(template, ANSWERS, VALUES)


def save_with_libreoffice(source: bytes, target: Path, filter_name: str, delete_row: int | None) -> None:
    """Open ``source`` in LibreOffice Calc, delete the 0-based Return row ``delete_row`` (if any), save as ``target``.

    Raises RuntimeError when LibreOffice is missing or writes nothing.
    """
    command = soffice()
    if command is None:
        raise RuntimeError("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        profile = work / "profile"
        environment = f"-env:UserInstallation={profile.as_uri()}"
        # The first start creates the profile with its Standard Basic library; the macro then replaces Module1.
        subprocess.run([command, "--headless", environment, "--terminate_after_init"], check=True, timeout=120)
        (profile / "user" / "basic" / "Standard" / "Module1.xba").write_text(MACRO, encoding="utf-8")
        given = work / "given.xlsx"
        given.write_bytes(source)
        written = work / f"written{target.suffix}"
        row = -1 if delete_row is None else delete_row
        macro = f'macro:///Standard.Module1.SaveEdited("{given}","{written}","{filter_name}",{row})'
        subprocess.run([command, "--headless", environment, macro], check=True, timeout=120)
        if not written.exists():
            raise RuntimeError(f"LibreOffice did not write {target.name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(written, target)


def make_all(out: Path = OUT) -> list[Path]:
    """Write every fixture into ``out``; returns their paths."""
    source = filled_template()
    made = []
    for name, filter_name, delete_row in (
        ("deleted-row.xlsx", XLSX_FILTER, 1),
        ("resaved.xlsx", XLSX_FILTER, None),
        ("saved-as.ods", ODS_FILTER, None),
    ):
        save_with_libreoffice(source, out / name, filter_name, delete_row)
        made.append(out / name)
    return made


if __name__ == "__main__":
    for path in make_all():
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
