"""Beacon v2 (framework and default model v2.1.1, v2.2 count precision) and the national
allele-frequency database."""
