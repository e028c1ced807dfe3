"""Genomic files registered in place: format detection, checksums, indexes and ingest."""
