"""The catalogue's settings: a missing mandatory key stops start-up naming it (in a file and
through GDI_NODE_* variables alike), the three GDI identifier conventions are accepted and
nothing else once the catalogue is served, and an identifier names one dataset only."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from gdi_node.catalogue.api import warn_nonconforming
from gdi_node.config.identifiers import IdentifierForm, identifier_form
from gdi_node.config.loading import load_settings
from gdi_node.config.settings import Settings, SettingsError
from tests.support.catalogue import CATALOGUE, catalogued_datasets


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "gdi-node.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def config(**catalogue: Any) -> dict[str, Any]:
    return {
        "datasets": catalogued_datasets(),
        "catalogue": {**copy.deepcopy(CATALOGUE), **catalogue},
    }


def without(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    data = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    target = data
    for part in parents:
        target = target[part]
    del target[last]
    return data


def problem_keys(exc: SettingsError) -> list[str]:
    return [key.split(" ")[0] for key, _ in exc.problems]


@pytest.mark.parametrize(
    "key",
    [
        "catalogue.title",
        "catalogue.description",
        "catalogue.license",
        "catalogue.publisher",
        "catalogue.creators",
        "catalogue.publisher.contact",
        "catalogue.publisher.contact.email",
        "catalogue.publisher.contact.fn",
        "catalogue.publisher.name",
        "catalogue.hdab.contact",
    ],
)
def test_a_missing_mandatory_catalogue_key_is_a_start_up_error_naming_it(
    tmp_path: Path, key: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, without(config(), key)), env={})
    assert key in problem_keys(raised.value)
    assert str(tmp_path) in str(raised.value)  # and where the value came from


def test_an_empty_creator_list_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, config(creators=[])), env={})
    assert "catalogue.creators" in problem_keys(raised.value)


def test_catalogue_keys_are_set_by_environment_variables(tmp_path: Path) -> None:
    env = {
        "GDI_NODE_CATALOGUE__LICENSE": "https://example.org/licence",
        "GDI_NODE_CATALOGUE__TITLE": "{en: From the environment}",
    }
    settings = load_settings(write(tmp_path, config()), env=env)
    assert settings.catalogue is not None
    assert settings.catalogue.license == "https://example.org/licence"
    # a mapping in a variable merges into the file's, as for every section
    assert settings.catalogue.title == {"en": "From the environment", "nl": "Testcatalogus"}
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, config()), env={"GDI_NODE_CATALOGUE__LICENSE": "nope"})
    assert "catalogue.license (from GDI_NODE_CATALOGUE__LICENSE)" in str(raised.value)


def test_unknown_catalogue_keys_are_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings(write(tmp_path, config(titel={"en": "typo"})), env={})
    assert "catalogue.titel" in problem_keys(raised.value)


@pytest.mark.parametrize(
    ("email", "stored"),
    [("data@genome.test", "mailto:data@genome.test"), ("mailto:a@b.eu", "mailto:a@b.eu")],
)
def test_contact_emails_become_mailto_iris(email: str, stored: str) -> None:
    data = config()
    data["catalogue"]["publisher"]["contact"]["email"] = email
    settings = Settings.model_validate(data)
    assert settings.catalogue is not None
    assert settings.catalogue.publisher.contact.email == stored


@pytest.mark.parametrize("email", ["data", "mailto:data@nowhere", ""])
def test_contact_emails_the_gdi_pattern_rejects_are_start_up_errors(email: str) -> None:
    data = config()
    data["catalogue"]["publisher"]["contact"]["email"] = email
    with pytest.raises(ValueError, match="e-mail"):
        Settings.model_validate(data)


@pytest.mark.parametrize(
    ("identifier", "form"),
    [
        ("GDI-FI-COHORT-001", IdentifierForm.GDI_DASH),
        ("GOE-NL-HRI-7", IdentifierForm.GDI_DASH),
        ("GoE_NL_HRI_1", IdentifierForm.PROJECT_UNDERSCORE),
        ("GDID-1a2b3c4d-9f8e", IdentifierForm.GDID),
    ],
)
def test_the_three_gdi_identifier_conventions_are_accepted(
    identifier: str, form: IdentifierForm
) -> None:
    assert identifier_form(identifier) is form
    data = config()
    data["datasets"][0]["identifier"] = identifier
    assert Settings.model_validate(data).datasets[0].public_id == identifier


@pytest.mark.parametrize(
    "identifier",
    [
        "demo-public",
        "GDI-DS-20251201001",
        "gdi-fi-cohort-001",
        "GDID-1a2b3c4d-9f8",
        "GDI-FI-A-" + "1" * 60,
    ],
)
def test_other_identifiers_stop_start_up_when_the_catalogue_is_served(identifier: str) -> None:
    data = config()
    data["datasets"][0]["identifier"] = identifier
    with pytest.raises(ValueError, match=r"datasets\.0\.identifier"):
        Settings.model_validate(data)
    data.pop("catalogue")  # without a catalogue only the general id rule applies
    assert Settings.model_validate(data).datasets[0].public_id == identifier


def test_the_identifier_defaults_to_the_dataset_id() -> None:
    data = config()
    del data["datasets"][0]["identifier"]
    data["datasets"][0]["id"] = "GDI-XX-OPEN-3"
    assert Settings.model_validate(data).datasets[0].public_id == "GDI-XX-OPEN-3"
    data["datasets"][0]["id"] = "OPEN"
    with pytest.raises(ValueError, match=r"datasets\.0\.identifier: 'OPEN' \(default: the id\)"):
        Settings.model_validate(data)


def test_an_identifier_names_one_dataset_only() -> None:
    data = config()
    data["datasets"][1]["identifier"] = "OPEN"  # the other dataset's id
    data.pop("catalogue")
    with pytest.raises(ValueError, match="repeated: OPEN"):
        Settings.model_validate(data)


def test_a_catalogued_dataset_needs_a_description() -> None:
    data = config()
    data["datasets"][1]["description"] = " "
    with pytest.raises(ValueError, match=r"datasets\.1\.description: mandatory"):
        Settings.model_validate(data)


def test_identifiers_the_shape_rejects_are_accepted_with_one_start_up_warning_each(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = config()
    data["datasets"][0]["identifier"] = "GoE_NL_HRI_1"
    with caplog.at_level(logging.WARNING, logger="gdi_node.catalogue.api"):
        warn_nonconforming(Settings.model_validate(data))
    assert len(caplog.records) == 1
    assert "GoE_NL_HRI_1" in caplog.text
    assert "gdi-metadata 3f1085d" in caplog.text
