"""Population labels of the GDI allele-frequency network (decision record 0018): the sample
sheet's sex and country values, and a dataset's ``frequency_label``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gdi_node.beacon.ingest.sample_sheet import read_sample_sheet
from gdi_node.beacon.model.populations import NETWORK_LABEL, normalised_sex, with_sex
from gdi_node.config.settings import Settings
from gdi_node.errors import InvalidInputError


def sheet(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "samples.tsv"
    path.write_text("sample\tsex\tcountry\n" + rows, encoding="utf-8")
    return path


def test_sample_sheet_sexes_are_normalised_to_m_or_f_and_countries_to_capitals(
    tmp_path: Path,
) -> None:
    rows = "A\tfemale\tdk\nB\tXY\tSE\nC\tm\t\nD\t\t\n"
    infos = read_sample_sheet(sheet(tmp_path, rows))
    assert [(i.sex, i.country) for i in infos.values()] == [
        ("F", "DK"), ("M", "SE"), ("M", None), (None, None)
    ]  # fmt: skip
    assert infos["A"].groups() == [("sex", "F"), ("country", "DK")]


@pytest.mark.parametrize(
    ("row", "message"),
    [("A\tunknown\tDK\n", "sex 'unknown'"), ("A\tF\tDenmark\n", "country 'Denmark'")],
)
def test_other_sex_or_country_values_are_an_error(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        read_sample_sheet(sheet(tmp_path, row))


def test_labels_match_the_portal_pattern() -> None:
    assert normalised_sex("XX") == "F"
    for label in ("DK", with_sex("DK", "F"), with_sex("SE", "M")):
        assert NETWORK_LABEL.match(label)
    assert not NETWORK_LABEL.match("DK-NGC-WGS_F")


def test_frequency_label_must_be_a_country_code(make_settings: Callable[..., Settings]) -> None:
    def dataset(**extra: Any) -> list[dict[str, Any]]:
        return [{"id": "DK-NGC", "name": "n", **extra}]

    assert make_settings(datasets=dataset()).datasets[0].population_label == "DK-NGC"
    labelled = make_settings(datasets=dataset(frequency_label="DK"))
    assert labelled.datasets[0].population_label == "DK"
    for bad in ("dk", "DNK", "DK_F"):
        with pytest.raises(ValidationError, match="ISO 3166-1 alpha-2"):
            make_settings(datasets=dataset(frequency_label=bad))
