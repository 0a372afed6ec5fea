"""CYP Plan Monitor: monitoring Barnet's Children and Young People's Plan."""

__version__ = "0.1.0"
