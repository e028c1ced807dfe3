"""Beacon layer ``ingest``: loading VCF/BCF, BFF and Phenopackets data, and consent changes.
Imports ``store``, ``framework`` and ``model``; never ``queries``."""
