"""The HTTP plumbing every API of the node shares, below the app's wiring and above none of the
APIs (``lint-imports`` checks that ``web`` imports no API package, the app or the CLI).
"""
