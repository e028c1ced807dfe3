"""Beacon layer ``queries``: answering Beacon requests behind the privacy gate (permits,
granularity, budget, scopes, filters, answer, shape, audit). Imports ``store``, ``framework``
and ``model``; never ``ingest``."""
