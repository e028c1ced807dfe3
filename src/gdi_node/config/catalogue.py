"""Settings of the FAIR Data Point catalogue (``catalogue:``) and of each dataset's catalogue
record (``datasets[].catalogue``): what the node cannot know itself, per the GDI metadata profile
of HealthDCAT-AP release 5 (design note §2.2, decision record 0027).

The section's presence turns the catalogue on; its mandatory keys (title, description, licence,
publisher with a contact point, creators) are then required, so a missing one stops start-up
with an error naming it. Facts the node knows (counts, distributions, modification time) are
never configured: the catalogue computes them (gdi_node.catalogue.store).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from gdi_node.config.trust import StrictSection, check_http_url

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")  # BCP 47, as rdflib accepts
_MAILTO = re.compile(r"^mailto:.+@.+\..+$")  # the GDI KindShape's sh:pattern on vcard:hasEmail

HealthCategory = Literal["HumanGenetic", "HumanEpigenomic", "HumanGenomic"]
AccessRights = Literal["PUBLIC", "RESTRICTED", "NON_PUBLIC"]
Conformance = Literal["ExternallyGoverned", "1MGCompliant", "1MGCohort"]


_iri = check_http_url


def _texts(value: dict[str, str]) -> dict[str, str]:
    if not value:
        raise ValueError("must give at least one language, e.g. {en: …}")
    for language, text in value.items():
        if not _LANGUAGE.match(language):
            raise ValueError(f"{language!r} is not a language tag (en, nl, fi, …)")
        if not text.strip():
            raise ValueError(f"the {language} text is empty")
    return value


Texts = dict[str, str]  # one text per language tag (sh:uniqueLang)


class ContactSettings(StrictSection):
    """A ``vcard:Kind`` contact point: ``fn`` a name, ``email`` a ``mailto:`` IRI, ``url``."""

    fn: str = Field(min_length=1)
    email: str
    url: str | None = None

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        if not value.startswith("mailto:"):
            value = f"mailto:{value}"
        if not _MAILTO.match(value):
            raise ValueError("must be an e-mail address (mailto:name@example.org)")
        return value

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _iri(value)


class AgentSettings(StrictSection):
    """A ``foaf:Agent`` (publisher, creator, HDAB): its name per language, a contact point and
    an optional IRI identifying it (``url``, e.g. its ROR or home page)."""

    name: Texts
    contact: ContactSettings | None = None
    url: str | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: Texts) -> Texts:
        return _texts(value)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _iri(value)


class PublisherSettings(AgentSettings):
    """The publisher and the HDAB need a contact point (GDI submission table: 1..1)."""

    contact: ContactSettings


class CatalogueSettings(StrictSection):
    """The FAIR Data Point at ``/fdp`` and its one catalogue (``dcat:Catalog``)."""

    title: Texts
    description: Texts
    license: str
    publisher: PublisherSettings
    creators: tuple[AgentSettings, ...] = Field(min_length=1)
    hdab: PublisherSettings | None = None
    applicable_legislation: tuple[str, ...] = ()  # added to the EHDS ELI (both spellings)
    themes: tuple[str, ...] = ()  # added to data-theme/HEAL
    access_request_url: str | None = None  # a distribution pointing at the access-request page

    @field_validator("title", "description")
    @classmethod
    def _check_texts(cls, value: Texts) -> Texts:
        return _texts(value)

    @field_validator("license", "access_request_url")
    @classmethod
    def _check_iri(cls, value: str | None) -> str | None:
        return None if value is None else _iri(value)

    @field_validator("applicable_legislation", "themes")
    @classmethod
    def _check_iris(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_iri(v) for v in value)


class DatasetCatalogueSettings(StrictSection):
    """A dataset's catalogue record beyond its id, identifier, name and description.

    ``access_rights`` defaults from ``security_level`` (PUBLIC -> PUBLIC, else RESTRICTED);
    ``synthetic`` marks a synthetic data set (``dct:type`` SYNTHETIC_DATA)."""

    access_rights: AccessRights | None = None
    health_categories: tuple[HealthCategory, ...] = Field(default=("HumanGenomic",), min_length=1)
    themes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    conforms_to: tuple[Conformance, ...] = ()
    legal_basis: tuple[str, ...] = ()  # dpv: IRIs, e.g. https://w3id.org/dpv#Consent
    applicable_legislation: tuple[str, ...] = ()
    other_identifiers: tuple[str, ...] = ()  # adms:identifier, skos:notation
    synthetic: bool = False
    contact: ContactSettings | None = None  # dcat:contactPoint of the dataset

    @field_validator("themes", "legal_basis", "applicable_legislation")
    @classmethod
    def _check_iris(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_iri(v) for v in value)
