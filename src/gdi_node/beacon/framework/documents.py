"""Beacon v2 framework documents: info, configuration, map, entry types (framework
``configuration/*`` and ``responses/beacon{Info,Configuration,Map,EntryTypes}Response``).

Which entry types the node serves, with their default-model schemas, ontology terms, links and
custom filter fields, is the one table ``ENTRY_TYPES``; configuration, map and entry types, and
every other map by entry type (BFF folders, filter scopes, custom terms, the cross-entry links),
are derived from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gdi_node.config.settings import Settings
from gdi_node.errors import InvalidInputError

API_VERSION = "v2.1.1"
SPEC = "Beacon v2.1.1"
_MODEL = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/models/json/beacon-v2-default-model"
_CONFIGURATION_SCHEMA = (
    "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/"
    "configuration/beaconConfigurationSchema.json"
)
_MAP_SCHEMA = (
    "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/"
    "configuration/beaconMapSchema.json"
)


@dataclass(frozen=True)
class EntryType:
    id: str  # ``genomicVariant``
    path: str  # ``g_variants``
    name: str
    folder: str  # the default model's folder
    ontology: tuple[str, str]
    description: str
    collection_of: tuple[str, ...] = ()
    related: tuple[str, ...] = ()  # paths reachable from one entry: /{path}/{id}/<related>
    # The field by which other records name one of this type (a biosample's ``individualId``):
    # the related metadata entries of /{path}/{id}/<related> are those naming it there.
    linked_by: str | None = None
    # Categorical fields the default model keeps as plain strings, matched by custom filters
    # as ``field:value`` (``libraryStrategy:WGS``; gdi_node.beacon.framework.entry_index).
    custom_fields: tuple[str, ...] = ()

    @property
    def link_column(self) -> str | None:
        """The column of ``beacon_entries`` (and attribute of an entry's reference) that holds
        ``linked_by``: ``individualId`` -> ``individual_id``."""
        return f"{self.linked_by.removesuffix('Id')}_id" if self.linked_by else None

    def schema(self) -> dict[str, str]:
        return {
            "entityType": self.id,
            "schema": f"beacon-{self.folder}-v2.1.1",
        }

    def names(self) -> frozenset[str]:
        """How requests name this entity: ``genomicVariant``, ``genomicVariation``,
        ``Individual`` … (compared case-insensitively); the reference implementation's
        schema ids call variants ``variant``."""
        names = {self.id, self.folder, self.folder.removesuffix("s")}
        if self.path == "g_variants":
            names.add("variant")
        return frozenset(n.casefold() for n in names)

    def serves_schema(self, schema: str) -> bool:
        """Whether ``schema`` names the default model's schema of this entity: our id, its
        definition URL, or a ``[ga4gh-]beacon-<entity>-v2[.x[.y]]`` id (the default model
        stays compatible within v2)."""
        wanted = schema.strip().casefold().removesuffix(".json")
        reference = self.reference()
        if wanted in (reference["id"], reference["referenceToSchemaDefinition"].casefold()):
            return True
        matched = _SCHEMA_ID.fullmatch(wanted)
        return matched is not None and matched["entity"] in self.names()

    def reference(self) -> dict[str, str]:
        return {
            "id": f"beacon-{self.folder}-v2.1.1",
            "name": f"Default schema for {self.name.lower()}",
            "referenceToSchemaDefinition": f"{_MODEL}/{self.folder}/defaultSchema.json",
            "schemaVersion": API_VERSION,
        }


ENTRY_TYPES: tuple[EntryType, ...] = (
    EntryType(
        "genomicVariant",
        "g_variants",
        "Genomic variants",
        "genomicVariations",
        ("ENSGLOSSARY:0000092", "Variant"),
        "Alleles seen in the node's genomes, with counts and frequencies per population",
        related=("biosamples", "individuals"),
    ),
    EntryType(
        "individual",
        "individuals",
        "Individuals",
        "individuals",
        ("NCIT:C25190", "Person"),
        "People whose genomes the node holds (pseudonymised), with phenotypes and diseases",
        related=("g_variants", "biosamples"),
        linked_by="individualId",
        custom_fields=("karyotypicSex",),
    ),
    EntryType(
        "biosample",
        "biosamples",
        "Biosamples",
        "biosamples",
        ("NCIT:C70699", "Biospecimen"),
        "Samples taken from the individuals",
        related=("g_variants", "analyses", "runs"),
        linked_by="biosampleId",
    ),
    EntryType(
        "run",
        "runs",
        "Sequencing runs",
        "runs",
        ("NCIT:C148088", "Sequencing run"),
        "Sequencing runs of the biosamples",
        related=("g_variants", "analyses"),
        linked_by="runId",
        custom_fields=("libraryStrategy", "libraryLayout", "librarySelection", "platform"),
    ),
    EntryType(
        "analysis",
        "analyses",
        "Analyses",
        "analyses",
        ("edam:operation_2945", "Analysis"),
        "Bioinformatic analyses (alignment, variant calling) of the runs",
        related=("g_variants",),
        custom_fields=("variantCaller", "aligner", "pipelineName"),
    ),
    EntryType(
        "cohort",
        "cohorts",
        "Cohorts",
        "cohorts",
        ("NCIT:C61512", "Cohort"),
        "Cohorts: groups of individuals studied together",
        collection_of=("individual",),
        related=("individuals",),
        custom_fields=("cohortType",),
    ),
    EntryType(
        "dataset",
        "datasets",
        "Datasets",
        "datasets",
        ("NCIT:C47824", "Data set"),
        "The node's datasets: the unit that access is granted on",
        collection_of=("genomicVariant", "individual"),
        related=("g_variants", "individuals", "biosamples"),
    ),
)
BY_PATH = {entry.path: entry for entry in ENTRY_TYPES}
# The entry types of the default model's metadata (everything but genomic variants): the types
# BFF/Phenopackets records are loaded as, each stored in beacon_entries under its id.
METADATA_TYPES = tuple(entry for entry in ENTRY_TYPES if entry.id != "genomicVariant")
# The entry types a filter's ``scope`` may name, singular or plural.
FILTER_SCOPES = {name: entry.id for entry in METADATA_TYPES for name in (entry.id, entry.path)}
_SCHEMA_ID = re.compile(r"(?:ga4gh-)?beacon-(?P<entity>[a-z]+)-v2(?:\.\d+){0,2}")


def check_requested_schemas(entry: EntryType, requested: Iterable[dict[str, Any]]) -> None:
    """Framework ``beaconRequestMeta.requestedSchemas``: the node returns every entry type in
    its default-model schema only, so a request asking for ``entry`` in another schema is
    refused (InvalidInputError, 400) instead of being answered in a schema it did not ask
    for. Items for other entity types do not concern this response; an item without
    ``entityType`` is taken to mean the entry type queried."""
    for item in requested:
        entity, schema = item.get("entityType"), item.get("schema")
        if not isinstance(schema, str):
            continue
        if isinstance(entity, str) and entity.casefold() not in entry.names():
            continue
        if not entry.serves_schema(schema):
            raise InvalidInputError(
                f"requestedSchemas: {entry.id} is served in {entry.schema()['schema']} only"
                f" (the Beacon {API_VERSION} default model), not in {schema!r}"
            )


def beacon_id(settings: Settings) -> str:
    return f"{settings.node.id}.beacon"


def informational_meta(settings: Settings, entry: EntryType | None = None) -> dict[str, Any]:
    return {
        "beaconId": beacon_id(settings),
        "apiVersion": API_VERSION,
        "returnedSchemas": [entry.schema()] if entry else [],
    }


def info_response(settings: Settings, base_url: str, started_at: str) -> dict[str, Any]:
    node = settings.node
    return {
        "meta": informational_meta(settings),
        "response": {
            "id": beacon_id(settings),
            "name": f"{node.name} Beacon",
            "apiVersion": API_VERSION,
            "environment": node.environment,
            "organization": {
                "id": node.id,
                "name": node.organization.name,
                "welcomeUrl": node.organization.url,
                "contactUrl": node.contact_url,
            },
            "description": (
                f"{node.description}: Beacon v2 discovery and allele frequencies; record-level"
                " answers only to callers whose passports permit them"
            ),
            "version": API_VERSION,
            "welcomeUrl": node.documentation_url,
            "createDateTime": started_at,
            "updateDateTime": started_at,
            "info": {"beaconUrl": base_url},
        },
    }


def _entry_type_definition(entry: EntryType) -> dict[str, Any]:
    term_id, label = entry.ontology
    definition: dict[str, Any] = {
        "id": entry.id,
        "name": entry.name,
        "description": entry.description,
        "ontologyTermForThisType": {"id": term_id, "label": label},
        "partOfSpecification": SPEC,
        "defaultSchema": entry.reference(),
        "nonFilteredQueriesAllowed": True,
    }
    if entry.collection_of:
        definition["aCollectionOf"] = [
            {"id": other, "name": BY_ID[other].name} for other in entry.collection_of
        ]
    return definition


BY_ID = {entry.id: entry for entry in ENTRY_TYPES}


def entry_types_response(settings: Settings) -> dict[str, Any]:
    return {
        "meta": informational_meta(settings),
        "response": {"entryTypes": {e.id: _entry_type_definition(e) for e in ENTRY_TYPES}},
    }


def configuration_response(settings: Settings, security_levels: list[str]) -> dict[str, Any]:
    status = {"prod": "PROD", "test": "TEST"}.get(settings.node.environment, "DEV")
    return {
        "meta": informational_meta(settings),
        "response": {
            "$schema": _CONFIGURATION_SCHEMA,
            "maturityAttributes": {"productionStatus": status},
            "securityAttributes": {
                "defaultGranularity": "boolean",
                "securityLevels": security_levels or ["PUBLIC"],
            },
            "entryTypes": {e.id: _entry_type_definition(e) for e in ENTRY_TYPES},
        },
    }


def map_response(settings: Settings, base_url: str) -> dict[str, Any]:
    endpoint_sets = {}
    for entry in ENTRY_TYPES:
        root = f"{base_url}/{entry.path}"
        endpoint_sets[entry.id] = {
            "entryType": entry.id,
            "rootUrl": root,
            "singleEntryUrl": f"{root}/{{id}}",
            "openAPIEndpointsDefinition": f"{base_url}/openapi.json",
            "endpoints": {
                BY_PATH[related].id: {
                    "returnedEntryType": BY_PATH[related].id,
                    "url": f"{root}/{{id}}/{related}",
                }
                for related in entry.related
                if related in BY_PATH
            },
        }
    return {
        "meta": informational_meta(settings),
        "response": {"$schema": _MAP_SCHEMA, "endpointSets": endpoint_sets},
    }
