"""The HTML every browser page is served as: header, search form, a main landmark the page
script fills, and the page's facts as JSON (``<script type="application/json">``, which the
Content-Security-Policy lets through because it is data, not code). The front page and error
pages are complete without the script (decision record 0032)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from gdi_node.browser.messages import LANGUAGES, Messages
from gdi_node.browser.routes import Route

ASSETS = "/browser/assets"
LANGUAGE_NAMES = {"en": "English", "da": "Dansk"}


@dataclass(frozen=True)
class Site:
    """What every page of one node shares."""

    node_name: str
    base: str  # /browser
    beacon: str  # /ga4gh/beacon/v2
    permissions: str  # /permissions
    igv: str  # /static/igv.min.js (the node API serves it)
    region_limit: int
    examples: tuple[str, ...]
    modules: tuple[str, ...] = ()  # the page script's modules but browser.js, preloaded


def _json_for_html(data: dict[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element: no ``</`` nor ``<!--`` can end or open it."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _front(site: Site, text: Messages, language: str) -> str:
    links = "".join(
        f'<li><a href="{site.base}/?q={quote(example)}&amp;lang={language}">'
        f"{escape(example)}</a></li>"
        for example in site.examples
    )
    return (
        f"<h1>{escape(text.get('front.heading'))}</h1>"
        f"<p>{escape(text.get('front.intro'))}</p>"
        f'<h2>{escape(text.get("search.examples"))}</h2><ul class="examples">{links}</ul>'
    )


def _initial(site: Site, route: Route, text: Messages, language: str) -> str:
    """What the main landmark holds before the script runs."""
    if route.kind == "front":
        return _front(site, text, language)
    if route.kind == "error":
        heading = escape(text.get("error.not_found"))
        return f'<h1>{heading}</h1><p class="error" role="alert">{escape(route.title)}</p>'
    noscript = escape(text.get("page.noscript"))
    return f"<h1>{escape(route.title)}</h1><noscript><p>{noscript}</p></noscript>"


def render(site: Site, route: Route, language: str, path: str, asked: bool) -> str:
    """The page at ``path`` (without query) for ``route`` in ``language``; ``asked``: the
    language came from ``?lang=`` (links keep it)."""
    text = Messages(language)
    config = {
        "base": site.base,
        "beacon": site.beacon,
        "permissions": site.permissions,
        "igv": site.igv,
        "language": language,
        "languageAsked": asked,
        "messages": text.words,
        "regionLimit": site.region_limit,
        "route": route.document(),
    }
    current = ' aria-current="true"'
    switch = "".join(
        f'<a href="{escape(path)}?lang={code}" hreflang="{code}" lang="{code}"'
        f"{current if code == language else ''}>{LANGUAGE_NAMES[code]}</a>"
        for code in LANGUAGES
    )
    # every module at once, not as the imports discover them (one round trip, not three)
    preloads = "\n".join(
        f'<link rel="modulepreload" href="{ASSETS}/{name}">' for name in site.modules
    )
    brand = escape(text.get("page.brand", node=site.node_name))
    title = text.get("page.title", node=site.node_name)
    if route.kind != "front":
        title = f"{route.title} \u2013 {title}"
    return f"""<!doctype html>
<html lang="{language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<link rel="stylesheet" href="{ASSETS}/browser.css">
<link rel="icon" href="data:,">
<script type="module" src="{ASSETS}/browser.js"></script>
{preloads}
</head>
<body data-state="{"ready" if route.kind in ("front", "error") else "loading"}">
<a class="skip" href="#page">{escape(text.get("page.skip"))}</a>
<header class="top">
<a class="brand" href="{site.base}/?lang={language}">{brand}</a>
<nav aria-label="{escape(text.get("page.languages"))}">{switch}</nav>
<div id="signin"></div>
</header>
<form id="search" role="search" action="{site.base}/" method="get">
<label for="q">{escape(text.get("search.label"))}</label>
<div class="combo">
<input id="q" name="q" type="search" role="combobox" aria-autocomplete="list" aria-expanded="false"
 aria-controls="choices" autocomplete="off" spellcheck="false" aria-describedby="search-message"
 maxlength="500">
<input type="hidden" name="lang" value="{language}">
<button type="submit">{escape(text.get("search.button"))}</button>
<ul id="choices" role="listbox" aria-label="{escape(text.get("search.label"))}" hidden></ul>
</div>
<p id="search-message" role="status" aria-live="polite"></p>
</form>
<main id="page" tabindex="-1">{_initial(site, route, text, language)}</main>
<footer><p>{escape(text.get("page.footer"))}</p>
<p><a href="{site.beacon}/info">{escape(text.get("page.api_docs"))}</a></p></footer>
<script type="application/json" id="browser-config">{_json_for_html(config)}</script>
</body>
</html>
"""
