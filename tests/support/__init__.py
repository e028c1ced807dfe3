"""Helpers the tests share: data builders, spec checkers, real servers and processes on
loopback. Imported as ``tests.support.<module>``; no tests live here."""
