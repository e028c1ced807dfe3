"""Beacon layer ``store``: SQL only, the reads and writes of the Beacon tables (variants, bins,
callsets, entries, budget, generation, handovers). Imports ``framework`` and ``model``."""
