"""Beacon layer ``model``: pure values. Alleles and variant types, carrier bitmaps, assemblies,
SnpEff/VEP annotations, ontologies and count precision. Imports nothing of gdi_node.beacon."""
