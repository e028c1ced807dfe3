"""A variant query's SQL is decided by its shape alone and kept; its values are bound
parameters (gdi_node.beacon.store.variant_where). What each condition matches is checked through the
API (tests/api/test_beacon_api.py: sequence, range, bracket, wildcards, types, genes, HGVS)."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite

from gdi_node.beacon.framework.requests import VariantQuery
from gdi_node.beacon.store.variant_where import Located, counted_rows, page_of_rows, where_of

SPANS = {"DS": 40, "DS-ONE": 40}


def _range(
    start: int, end: int, alternate_bases: str | None = None, variant_type: str | None = None
) -> VariantQuery:
    return VariantQuery(
        reference_name="22",
        start=(start,),
        end=(end,),
        alternate_bases=alternate_bases,
        variant_type=variant_type,
    )


def test_queries_of_one_shape_share_one_kept_statement() -> None:
    located = Located("GRCh38", "22")
    one = where_of(_range(100, 5000), located, ["DS"], ["GRCh38"], SPANS)
    other = where_of(_range(7, 90), located, ["DS"], ["GRCh38"], SPANS)
    assert one.shape == other.shape
    assert one.values != other.values
    assert counted_rows(tuple(one.shape)) is counted_rows(tuple(other.shape))


def test_values_never_enter_the_sql_text() -> None:
    query = _range(123457, 765433, alternate_bases="GNT", variant_type="INDEL")
    where = where_of(query, Located("GRCh38", "chr22x"), ["DS-ONE", "DS-TWO"], ["GRCh38"], SPANS)
    statement = page_of_rows(tuple(where.shape))
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = str(statement.compile(dialect=dialect))
        for value in ("123457", "765433", "123417", "G_T", "chr22x", "DS-ONE", "INDEL", "DEL"):
            assert value not in sql
    # the range reaches back by the longest stored variant; N became a one-base wildcard
    assert 123457 - 40 in where.values.values()
    assert "G_T" in where.values.values()
    assert {"DEL", "INS", "INDEL"} <= set(where.values.values())


def test_a_different_condition_set_is_a_different_shape() -> None:
    located = Located("GRCh38", "22")
    plain = where_of(_range(1, 9), located, ["DS"], ["GRCh38"], SPANS)
    exact = where_of(_range(1, 9, alternate_bases="G"), located, ["DS"], ["GRCh38"], SPANS)
    wild = where_of(_range(1, 9, alternate_bases="N"), located, ["DS"], ["GRCh38"], SPANS)
    two = where_of(_range(1, 9), located, ["DS", "DS2"], ["GRCh38"], SPANS)
    shapes = {tuple(w.shape) for w in (plain, exact, wild, two)}
    assert len(shapes) == 4
