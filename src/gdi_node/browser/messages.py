"""The browser's words in Danish and English (``messages.json``): the shell and the search
answers take them from here, the page scripts from the copy the shell embeds, so both speak
from one file. The language is ``?lang=``, else the browser's ``Accept-Language``, else
English."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "da")
_FILE = Path(__file__).resolve().parent / "messages.json"


@cache
def _all() -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(_FILE.read_text(encoding="utf-8"))
    return data


class Messages:
    """The words of one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"
        self.words = _all()[self.language]

    def get(self, key: str, **values: Any) -> str:
        return self.words[key].format(**values) if values else self.words[key]


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """``asked`` when it is a language of the browser; else the first of ``Accept-Language``
    (RFC 9110 §12.5.4, by q-value) that is; else English."""
    if asked in LANGUAGES:
        return asked
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, n, primary))
    return min(ranked)[2] if ranked else "en"
