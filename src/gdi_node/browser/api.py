"""HTTP handlers of ``openapi/browser.yaml``: the frequency browser's pages, its search answers
and its files; :func:`mount` builds them from the app's runtime (decision record 0032).

Pages are the same HTML for everyone (the shell carries no data about anybody), served with a
Content-Security-Policy that allows this node only: every script, style and call stays on the
node, nothing is fetched from elsewhere, and no Referer leaves for the external links. Inline
styles are allowed (igv.js adds its own ``<style>`` elements); inline scripts never are.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gdi_node.browser import routes, shell
from gdi_node.browser.genes import GeneIndex, GeneReferenceError, load_gene_index
from gdi_node.browser.messages import Messages, choose_language
from gdi_node.browser.routes import Route
from gdi_node.browser.search import BASE, Search
from gdi_node.browser.tracks import TrackLister
from gdi_node.config.settings import Settings, SettingsError
from gdi_node.db.engine import make_session_factory
from gdi_node.errors import NotFoundError, browser_envelope
from gdi_node.web.mounts import ApiMount, Handler
from gdi_node.web.request import request_credentials, request_facts, request_header
from gdi_node.web.runtime import NodeRuntime

BEACON_PATH = "/ga4gh/beacon/v2"  # where every gdi-node serves its Beacon (openapi/beacon.yaml)
STATIC = Path(__file__).resolve().parent / "static"
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data: blob:; connect-src 'self' blob:; object-src 'none';"
        " base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
Answer = tuple[Any, int, dict[str, str]]


@cache
def _asset(name: str) -> bytes:
    return (STATIC / name).read_bytes()


@cache
def asset_names() -> tuple[str, ...]:
    """The files under ``/browser/assets/`` (the document's enum lists the same); shipped
    with the package, so read once."""
    return tuple(sorted(p.name for p in STATIC.iterdir() if p.suffix in ASSET_TYPES))


class Pages:
    """The pages of one node."""

    def __init__(self, site: shell.Site, search: Search) -> None:
        self.site = site
        self.search = search

    def page(self, route: Route, path: str, lang: str | None) -> Answer:
        language = choose_language(lang, request_header("Accept-Language"))
        body = shell.render(self.site, route, language, path, lang is not None)
        headers = {
            "Content-Type": "text/html",
            "Cache-Control": "no-cache",
            "Vary": "Accept-Language",
            **SECURITY_HEADERS,
        }
        return body, route.status, headers

    def words(self, lang: str | None) -> Messages:
        return Messages(choose_language(lang, request_header("Accept-Language")))


def operations(pages: Pages, tracks: TrackLister) -> dict[str, Handler]:
    """The operationId -> handler table of the browser."""
    search = pages.search

    def get_front_page(q: str | None = None, lang: str | None = None) -> Answer:
        return pages.page(routes.front(pages.words(lang), q), f"{BASE}/", lang)

    def get_variant_page(assembly: str, variant: str, lang: str | None = None) -> Answer:
        route = routes.variant(search, pages.words(lang), assembly, variant)
        return pages.page(route, f"{BASE}/variant/{quote(assembly)}/{quote(variant)}", lang)

    def get_region_page(assembly: str, region: str, lang: str | None = None) -> Answer:
        route = routes.region(search, pages.words(lang), assembly, region)
        return pages.page(route, f"{BASE}/region/{quote(assembly)}/{quote(region)}", lang)

    def get_gene_page(
        symbol: str, aminoacidChange: str | None = None, lang: str | None = None
    ) -> Answer:
        route = routes.gene(search, pages.words(lang), symbol, aminoacidChange)
        return pages.page(route, f"{BASE}/gene/{quote(symbol)}", lang)

    def get_hgvs_page(expression: str, lang: str | None = None) -> Answer:
        route = routes.hgvs(pages.words(lang), expression)
        return pages.page(route, f"{BASE}/hgvs/{quote(expression, safe='')}", lang)

    def get_rsid_page(rsid: str, lang: str | None = None) -> Answer:
        route = routes.rsid(pages.words(lang), rsid)
        return pages.page(route, f"{BASE}/rsid/{quote(rsid)}", lang)

    def search_browser(q: str, lang: str | None = None) -> dict[str, Any]:
        return search.find(q, pages.words(lang)).document()

    def get_igv_view(locus: str) -> dict[str, Any]:
        facts = request_facts("browser.getIgvView")
        principal = tracks.authorizer.principal(request_credentials(), facts)
        return tracks.view(principal, facts, locus)

    def get_browser_asset(name: str) -> Answer:
        suffix = Path(name).suffix
        if name not in asset_names():
            raise NotFoundError(f"no browser file {name!r}")
        headers = {"Content-Type": ASSET_TYPES[suffix], "Cache-Control": "no-cache"}
        return _asset(name), 200, {**headers, "X-Content-Type-Options": "nosniff"}

    return {
        "getFrontPage": get_front_page,
        "getVariantPage": get_variant_page,
        "getRegionPage": get_region_page,
        "getGenePage": get_gene_page,
        "getHgvsPage": get_hgvs_page,
        "getRsidPage": get_rsid_page,
        "searchBrowser": search_browser,
        "getBrowserAsset": get_browser_asset,
        "getIgvView": get_igv_view,
    }


def build_search(settings: Settings) -> Search:
    """The search of ``settings.browser``; a gene file that cannot be read, or an unknown
    assembly, is a start-up error naming the key."""
    browser = settings.browser
    try:
        genes = load_gene_index(browser.genes) if browser.genes else GeneIndex(())
    except GeneReferenceError as error:
        raise SettingsError([("browser.genes", str(error))]) from None
    try:
        return Search(browser.assemblies, browser.region_limit, genes)
    except ValueError as error:
        raise SettingsError([("browser.assemblies", str(error))]) from None


def mount(runtime: NodeRuntime) -> ApiMount:
    """The browser's pages at ``/browser``; not a GA4GH service, so not in the registry."""
    settings = runtime.settings
    site = shell.Site(
        node_name=settings.node.name,
        base=BASE,
        beacon=BEACON_PATH,
        permissions="/permissions",
        igv="/static/igv.min.js",
        region_limit=settings.browser.region_limit,
        examples=settings.browser.examples,
        modules=tuple(n for n in asset_names() if n.endswith(".js") and n != "browser.js"),
    )
    return ApiMount(
        name="browser",
        document="browser.yaml",
        base_path=BASE,
        operations=operations(
            Pages(site, build_search(settings)),
            TrackLister(make_session_factory(runtime.engine), runtime.authorization.authorizer),
        ),
        envelope=browser_envelope,
    )
