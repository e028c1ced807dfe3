"""gdi-node: a GA4GH node (Beacon v2, htsget, DRS, Passports) for a national genome database."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gdi-node")
except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
    __version__ = "0.0.0+source"
