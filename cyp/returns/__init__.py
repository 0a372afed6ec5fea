"""Quarterly returns: template writing, workbook reading, validation and versioned loading.

``template`` writes a team's workbook; ``reader`` reads one back with cell addresses;
``validate`` reports every problem at once; ``ingest`` stores a valid return as a new
version in one transaction; ``annotate`` marks the problems on a copy of the workbook.
"""
