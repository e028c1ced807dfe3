"""Reading the node's settings: a YAML file (``--config`` or ``$GDI_NODE_CONFIG``) overlaid with
``GDI_NODE_*`` environment variables (``__`` separates nested keys; a list or mapping is written
as YAML in one variable), validated into :class:`gdi_node.config.settings.Settings`. Every
problem is reported with the key and where its value came from."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gdi_node.config.settings import Settings, SettingsError

ENV_PREFIX = "GDI_NODE_"
_RESERVED_ENV = re.compile(r"^GDI_NODE_(CONFIG|TEST_.*|BENCH_.*)$")


def _set_nested(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise SettingsError([(".".join(path), f"{part!r} is not a section")])
        target = child
    target[path[-1]] = value


def _env_overrides(env: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Translate ``GDI_NODE_*`` variables into a nested dict; also map keys to their variables."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or _RESERVED_ENV.match(name):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if any(not p for p in path):
            raise SettingsError([(name, "malformed variable name")])
        raw = env[name]
        # Lists and mappings (datasets, a whole section) are written as YAML in one variable.
        value: Any = yaml.safe_load(raw) if raw.lstrip().startswith(("[", "{")) else raw
        _set_nested(values, path, value)
        sources[".".join(path)] = name
    return values, sources


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_settings_file(path: Path) -> dict[str, Any]:
    """Parse a YAML settings file into a mapping, with clear errors for unreadable or odd files."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError([(str(path), f"cannot read the file: {exc.strerror}")]) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SettingsError([(str(path), f"not valid YAML: {exc}")]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError([(str(path), "the top level must be a mapping of keys to values")])
    return data


def load_settings(
    config_file: Path | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build and validate the settings; ``config_file`` defaults to ``$GDI_NODE_CONFIG``."""
    env = os.environ if env is None else env
    if config_file is None and env.get("GDI_NODE_CONFIG"):
        config_file = Path(env["GDI_NODE_CONFIG"])
    from_file = read_settings_file(config_file) if config_file else {}
    from_env, env_sources = _env_overrides(env)
    merged = _deep_merge(from_file, from_env)
    try:
        settings = Settings.model_validate(merged)
    except ValidationError as exc:
        raise SettingsError(_describe(exc, env_sources, config_file)) from None
    if config_file is not None and not settings.data_dir.is_absolute() and "data_dir" in from_file:
        # A relative data_dir in a file is relative to that file, not to the caller's cwd.
        settings = settings.model_copy(update={"data_dir": config_file.parent / settings.data_dir})
    return settings


def _describe(
    exc: ValidationError, env_sources: Mapping[str, str], config_file: Path | None
) -> list[tuple[str, str]]:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        source = env_sources.get(key)
        where = f" (from {source})" if source else (f" (in {config_file})" if config_file else "")
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif "input" in error and not isinstance(error["input"], dict | list):
            message = f"{message} (got {error['input']!r})"
        problems.append((f"{key}{where}", message))
    return problems
