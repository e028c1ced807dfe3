"""The frequency browser's search box (gdi_node.browser.search, notation, genes, messages):
what a typed text means, the choices offered and why nothing was found."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from gdi_node.browser.genes import Gene, GeneIndex, GeneReferenceError, read_genes
from gdi_node.browser.messages import LANGUAGES, Messages, choose_language
from gdi_node.browser.notation import read_position, read_region, read_variant
from gdi_node.browser.search import MAX_CHOICES, Search
from gdi_node.config.browser import GeneReferenceSettings

EN = Messages("en")
BRCA1 = Gene("BRCA1", "GRCh38", "17", 43_044_295, 43_125_483, "ENSG00000012048")
GENES = GeneIndex(
    [BRCA1, Gene("BRCA2", "GRCh38", "13", 32_315_508, 32_400_268, "ENSG00000139618")]
    + [Gene(f"BRCA{i}X", "GRCh38", "1", i, i + 10) for i in range(3, 20)]
)


def search(*assemblies: str, limit: int = 250_000, genes: GeneIndex = GENES) -> Search:
    return Search(assemblies or ("GRCh38",), limit, genes)


@pytest.mark.parametrize(
    "text",
    [
        "17-43045712-T-C",
        "chr17:43045712:T:C",
        "17:43045712 T>C",
        "17_43045712_t_c",
        "17 43045712 T C",
    ],
)
def test_a_variant_is_read_in_every_spelling_the_anchors_accept(text: str) -> None:
    variant = read_variant(text)
    assert variant is not None
    assert (variant.chrom, variant.pos, variant.ref, variant.alt) == ("17", 43045712, "T", "C")
    assert variant.slug == "17-43045712-T-C"


def test_an_assembly_typed_before_a_variant_is_kept_and_hg19_means_grch37() -> None:
    assert read_variant("GRCh38:17-43045712-T-C").assembly == "GRCh38"  # type: ignore[union-attr]
    assert read_variant("hg19-17-41197729-T-C").assembly == "GRCh37"  # type: ignore[union-attr]


def test_a_region_is_read_with_thousands_separators_and_a_position_as_its_flanks() -> None:
    region = read_region("chr17:43,044,295-43,125,483")
    assert region is not None
    assert (region.chrom, region.start, region.end) == ("17", 43044295, 43125483)
    assert read_region("17-43044295-43125483") == region
    around = read_position("17-43045712", 50)
    assert around is not None
    assert (around.start, around.end) == (43045662, 43045762)


def test_a_variant_without_an_assembly_offers_each_assembly_the_browser_has() -> None:
    answer = search("GRCh38", "GRCh37").find("17-43045712-T-C", EN)
    assert [c.path for c in answer.choices] == [
        "/browser/variant/GRCh38/17-43045712-T-C",
        "/browser/variant/GRCh37/17-43045712-T-C",
    ]
    assert answer.message == ""


def test_a_position_beyond_the_sequence_end_says_it_may_be_the_wrong_assembly() -> None:
    answer = search().find("21-48000000-A-G", EN)  # GRCh38 chr21 is 46,709,983 bases
    assert answer.choices == []
    assert "wrong assembly" in answer.message
    assert "46,709,983" in answer.message


def test_an_assembly_the_node_does_not_hold_is_named_with_the_ones_it_does() -> None:
    answer = search("GRCh38").find("GRCh37:17-43045712-T-C", EN)
    assert answer.choices == []
    assert answer.message == "GRCh37 is not an assembly of this node; it holds GRCh38."


def test_an_unknown_sequence_is_named() -> None:
    assert search().find("chr25:1-100", EN).message == "GRCh38 has no sequence 25."


def test_a_region_longer_than_the_limit_says_the_limit_and_offers_no_page() -> None:
    answer = search(limit=100_000).find("17:43044295-43225483", EN)
    assert answer.choices == []
    assert "181,189 bases" in answer.message
    assert "100,000" in answer.message


def test_a_region_that_ends_before_it_starts_is_refused() -> None:
    assert search().find("17:200-100", EN).message == "The region ends before it starts."


def test_a_gene_symbol_matches_any_case_and_a_prefix_lists_genes_shortest_first() -> None:
    exact = search().find("brca1", EN)
    assert exact.choices[0].path == "/browser/gene/BRCA1"
    assert "17:43,044,295-43,125,483 (GRCh38)" in exact.choices[0].detail
    prefix = search().find("BRCA", EN)
    labels = [c.label for c in prefix.choices]
    assert labels[:2] == ["BRCA1", "BRCA2"]
    assert len(labels) == MAX_CHOICES


def test_an_ensembl_gene_id_finds_its_gene() -> None:
    assert search().find("ENSG00000012048", EN).choices[0].label == "BRCA1"


def test_a_symbol_missing_from_the_reference_still_offers_the_annotated_variants() -> None:
    answer = search().find("NOTAGENE", EN)
    assert [c.path for c in answer.choices] == ["/browser/gene/NOTAGENE"]
    assert "No gene NOTAGENE in the gene reference" in answer.message


def test_without_a_gene_reference_a_symbol_offers_the_annotated_variants_silently() -> None:
    answer = search(genes=GeneIndex(())).find("brca1", EN)
    assert [c.label for c in answer.choices] == ["BRCA1"]
    assert answer.message == ""


def test_rsids_hgvs_and_protein_changes_each_lead_to_their_page() -> None:
    found = search()
    assert found.find("RS80357906", EN).choices[0].path == "/browser/rsid/rs80357906"
    hgvs = found.find("NM_007294.4:c.5266dupC", EN).choices[0]
    assert (hgvs.kind, hgvs.path) == ("hgvs", "/browser/hgvs/NM_007294.4%3Ac.5266dupC")
    protein = found.find("brca1 p.Arg1699Trp", EN).choices[0]
    assert protein.path == "/browser/gene/BRCA1?aminoacidChange=Arg1699Trp"


def test_text_that_means_nothing_says_what_the_box_reads() -> None:
    answer = search().find("what is this?", EN)
    assert answer.choices == []
    assert "17-43045712-T-C" in answer.message
    assert search().find("   ", EN).message.startswith("Type a gene")


def test_the_search_answers_in_danish_when_asked() -> None:
    answer = search().find("17:200-100", Messages("da"))
    assert answer.message == "Regionen slutter, før den begynder."


def test_danish_and_english_have_the_same_words() -> None:
    path = Path(__file__).resolve().parents[2] / "src/gdi_node/browser/messages.json"
    words = json.loads(path.read_text(encoding="utf-8"))
    assert set(words) == set(LANGUAGES)
    assert set(words["da"]) == set(words["en"])
    for key in words["en"]:  # the same placeholders in both
        assert sorted(_fields(words["da"][key])) == sorted(_fields(words["en"][key])), key


def _fields(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


@pytest.mark.parametrize(
    ("asked", "header", "chosen"),
    [
        ("da", "en", "da"),
        (None, "da-DK,da;q=0.9,en;q=0.8", "da"),
        (None, "en-GB,en;q=0.9,da;q=0.8", "en"),
        (None, "de,da;q=0.5", "da"),
        (None, "da;q=0,en;q=0.1", "en"),
        (None, None, "en"),
        ("fr", "fr", "en"),
    ],
)
def test_the_language_is_the_asked_one_then_accept_language_then_english(
    asked: str | None, header: str | None, chosen: str
) -> None:
    assert choose_language(asked, header) == chosen


def test_gene_references_are_read_from_gtf_gff3_and_tables(tmp_path: Path) -> None:
    gtf = tmp_path / "genes.gtf.gz"
    with gzip.open(gtf, "wt") as out:
        out.write("#!genome-build GRCh38\n")
        attributes = 'gene_id "ENSG00000012048.23"; gene_name "BRCA1";'
        for feature in ("gene", "transcript"):
            out.write(f"chr17\tHAVANA\t{feature}\t43044295\t43125483\t.\t-\t.\t{attributes}\n")
    gff = tmp_path / "genes.gff3"
    gff.write_text(
        "13\tensembl\tgene\t32315508\t32400268\t.\t+\t.\tID=gene:ENSG00000139618;Name=BRCA2\n"
    )
    table = tmp_path / "genes.tsv"
    table.write_text(
        "symbol\tchrom\tstart\tend\tgene_id\nTP53\tchr17\t7661779\t7687538\tENSG00000141510\n"
    )
    read = [read_genes(GeneReferenceSettings(assembly="GRCh38", path=p)) for p in (gtf, gff, table)]
    assert read == [
        [Gene("BRCA1", "GRCh38", "17", 43044295, 43125483, "ENSG00000012048")],
        [Gene("BRCA2", "GRCh38", "13", 32315508, 32400268, "ENSG00000139618")],
        [Gene("TP53", "GRCh38", "17", 7661779, 7687538, "ENSG00000141510")],
    ]


def test_an_unreadable_gene_reference_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "genes.tsv"
    bad.write_text("TP53\t17\tseven\t8\n")
    with pytest.raises(GeneReferenceError, match=r"genes\.tsv: line 1: not a gene"):
        read_genes(GeneReferenceSettings(assembly="GRCh38", path=bad))
    with pytest.raises(GeneReferenceError, match=r"missing\.tsv"):
        read_genes(GeneReferenceSettings(assembly="GRCh38", path=tmp_path / "missing.tsv"))
