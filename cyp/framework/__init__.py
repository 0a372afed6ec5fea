"""The plan framework: one model read from the files or the workbook, one checker, loading, the workbook round trip.

``model`` holds the records; ``files`` and ``reading`` read them from ``data/framework/`` and from the
administrator's workbook; ``checks`` is the one rule set; ``load`` seeds the database from the files;
``layout``, ``export``, ``apply`` and ``workbook`` are the spreadsheet round trip.
"""

from cyp.framework.checks import check_framework
from cyp.framework.files import FrameworkFileError, read_framework
from cyp.framework.load import load_framework, seed_framework
from cyp.framework.model import Framework

# The name callers have used for the model read from the files.
FrameworkData = Framework

__all__ = [
    "Framework",
    "FrameworkData",
    "FrameworkFileError",
    "check_framework",
    "load_framework",
    "read_framework",
    "seed_framework",
]
