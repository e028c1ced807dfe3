"""Beacon layer ``framework``: the Beacon v2 vocabulary (framework and default model v2.1.1).
Entry types, informational documents, requests, filters, response shapes and the default-model
schemas. Imports only ``model``."""
