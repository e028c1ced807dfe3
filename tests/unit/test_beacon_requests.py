"""Beacon request parsing: both GET spellings, comma-joined lists, both POST shapes, the
framework's pagination, and clear errors for malformed values."""

from __future__ import annotations

import pytest

from gdi_node.beacon.framework.requests import (
    MAX_LIMIT,
    Granularity,
    ResultsetsShown,
    from_get,
    from_post,
)
from gdi_node.errors import InvalidInputError
from tests.conftest import REPO_ROOT


def test_get_spellings_and_comma_lists_become_one_query() -> None:
    request = from_get(
        {"geneid": "BRAF", "allele": "NC_000007.14:g.140753336A>T", "start": "10, 20",
         "end": "30,40", "referenceName": "7", "filters": "HP:0001250,NCIT:C3224"}
    )  # fmt: skip
    query = request.variant
    assert query.gene_id == "BRAF"
    assert query.genomic_allele_short_form == "NC_000007.14:g.140753336A>T"
    assert (query.start, query.end) == ((10, 20), (30, 40))
    assert query.kind() == "hgvs"
    assert [f.id for f in request.filters] == ["HP:0001250", "NCIT:C3224"]


def test_post_parameters_flat_or_nested_give_the_same_query() -> None:
    flat = {"referenceName": "22", "start": [5], "alternateBases": "g"}
    one = from_post({"query": {"requestParameters": flat}})
    two = from_post({"query": {"requestParameters": {"g_variant": flat}}})
    assert one.variant == two.variant
    assert one.variant.alternate_bases == "G"
    assert one.variant.kind() == "sequence"


def test_pagination_counts_pages_and_caps_the_limit() -> None:
    request = from_get({"skip": "2", "limit": "0", "includeResultsetResponses": "all"})
    assert (request.skip, request.limit) == (2, MAX_LIMIT)
    assert request.resultsets is ResultsetsShown.ALL
    post = from_post({"query": {"pagination": {"skip": 1, "limit": 5}}})
    assert (post.skip, post.limit, post.granularity) == (1, 5, None)
    assert from_get({"requestedGranularity": "count"}).granularity is Granularity.COUNT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"start": "1,2,3", "referenceName": "1"}, "one or two"),
        ({"start": "-1", "referenceName": "1"}, "one or two"),
        ({"start": "a", "referenceName": "1"}, "integers"),
        ({"alternateBases": "XYZ", "start": "1", "referenceName": "1"}, "bases"),
        ({"variantMinLength": "-3", "geneId": "X"}, "must not be negative"),
        ({"variantMaxLength": "many", "geneId": "X"}, "integer"),
        ({"requestedGranularity": "everything"}, "boolean, count or record"),
        ({"includeResultsetResponses": "SOME"}, "HIT, MISS, ALL or NONE"),
    ],
)
def test_malformed_values_are_clear_errors(args: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        from_get(args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"start": "5"}, "referenceName and start"),
        ({"referenceName": "1", "start": "5", "end": "5"}, "greater than start"),
        ({"referenceName": "1", "start": "5,6", "end": "7"}, "bracket"),
        ({"alternateBases": "A"}, "need a position or a geneId"),
    ],
)
def test_inconsistent_query_parameters_are_rejected(args: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        from_get(args).variant.kind()


def test_post_body_shapes_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="requestParameters must be an object"):
        from_post({"query": {"requestParameters": ["x"]}})
    with pytest.raises(InvalidInputError, match="filters must be a list"):
        from_post({"query": {"filters": "HP:1"}})
    assert from_post(None).variant.empty


def test_post_request_parameters_follow_the_get_rule_an_unknown_name_is_refused() -> None:
    """Issue 17: GET refuses an unknown query parameter (connexion, from the spec); a POST
    body's requestParameters are held to the same list, flat or under g_variant."""
    import yaml

    from gdi_node.beacon.framework.requests import VARIANT_PARAMETERS, from_post
    from gdi_node.errors import InvalidInputError

    spec = yaml.safe_load((REPO_ROOT / "openapi" / "beacon.yaml").read_text())
    names = set()
    for listed in spec["paths"]["/g_variants"]["get"]["parameters"]:
        ref = listed.get("$ref", "")
        names.add((spec["components"]["parameters"][ref.split("/")[-1]] if ref else listed)["name"])
    framework = {"Authorization", "requestedGranularity", "skip", "limit", "filters"}
    assert names - framework - {"includeResultsetResponses", "testMode"} == VARIANT_PARAMETERS
    for parameters in ({"referenceName": "1", "bogus": 1}, {"g_variant": {"bogus": 1}}):
        with pytest.raises(InvalidInputError, match=r"unknown parameter\(s\) bogus; known: "):
            from_post({"query": {"requestParameters": parameters}})
    assert from_post({"query": {"requestParameters": {"referenceName": "1"}}}).variant
