"""The plan framework: read and check the files under ``data/framework/``, load them into the database."""

from cyp.framework.files import FrameworkData, FrameworkFileError, check_framework, read_framework
from cyp.framework.load import load_framework, seed_framework

__all__ = [
    "FrameworkData",
    "FrameworkFileError",
    "check_framework",
    "load_framework",
    "read_framework",
    "seed_framework",
]
