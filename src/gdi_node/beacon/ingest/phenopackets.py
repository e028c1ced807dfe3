"""GA4GH Phenopackets v2 (JSON) to Beacon v2 default-model records: the subject becomes an
individual, each biosample a biosample (Phenopacket schema v2: ``Phenopacket``,
``Individual``, ``PhenotypicFeature``, ``Disease``, ``Measurement``, ``Biosample``).

Nothing is invented: a field Beacon requires that the phenopacket lacks stays missing, and the
record then fails model validation with a clear message.
"""

from __future__ import annotations

from typing import Any

# Phenopackets ``Sex`` enum to the NCIT terms the Beacon model's sex field uses
_SEX = {
    "FEMALE": {"id": "NCIT:C16576", "label": "female"},
    "MALE": {"id": "NCIT:C20197", "label": "male"},
    "OTHER_SEX": {"id": "NCIT:C45908", "label": "intersex"},
    "UNKNOWN_SEX": {"id": "NCIT:C17998", "label": "unknown"},
}


def is_phenopacket(document: Any) -> bool:
    return isinstance(document, dict) and "subject" in document and "metaData" in document


def _time_element(value: Any) -> Any:
    """A phenopacket TimeElement wraps its one value (``{"age": {...}}``, ``{"timestamp":
    ...}``, ``{"ontologyClass": {...}}``); the Beacon TimeElement is that value itself."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in ("age", "ageRange", "gestationalAge", "ontologyClass", "timestamp", "interval"):
            return value[key]
    return value


def _feature(feature: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"featureType": feature.get("type")}
    for key in ("excluded", "severity", "modifiers", "evidence", "notes"):
        if key in feature:
            out[key] = feature[key]
    if "description" in feature:
        out["notes"] = feature["description"]
    if "onset" in feature:
        out["onset"] = _time_element(feature["onset"])
    if "resolution" in feature:
        out["resolution"] = _time_element(feature["resolution"])
    return out


def _disease(disease: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"diseaseCode": disease.get("term")}
    if "onset" in disease:
        out["ageOfOnset"] = _time_element(disease["onset"])
    if "diseaseStage" in disease:
        out["stage"] = (disease["diseaseStage"] or [None])[0]
    return out


def _measurement(measurement: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"assayCode": measurement.get("assay")}
    value = measurement.get("value") or {}
    if "quantity" in value:
        quantity = value["quantity"]
        out["measurementValue"] = {"value": quantity.get("value"), "unit": quantity.get("unit")}
    elif "ontologyClass" in value:
        out["measurementValue"] = value["ontologyClass"]
    if "timeObserved" in measurement:
        out["observationMoment"] = _time_element(measurement["timeObserved"])
    if "procedure" in measurement:
        out["procedure"] = {"procedureCode": measurement["procedure"].get("code")}
    return {k: v for k, v in out.items() if v is not None}


def _biosample(sample: dict[str, Any], individual_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": sample.get("id"),
        "individualId": sample.get("individualId") or individual_id,
    }
    renamed = {
        "materialSample": "biosampleStatus",
        "sampledTissue": "sampleOriginType",
        "pathologicalStage": "pathologicalStage",
        "histologicalDiagnosis": "histologicalDiagnosis",
        "tumorProgression": "tumorProgression",
        "tumorGrade": "tumorGrade",
        "diagnosticMarkers": "diagnosticMarkers",
        "pathologicalTnmFinding": "pathologicalTnmFinding",
        "description": "notes",
    }
    for source, target in renamed.items():
        if source in sample:
            out[target] = sample[source]
    if "timeOfCollection" in sample:
        out["collectionMoment"] = _age_text(sample["timeOfCollection"])
    if "phenotypicFeatures" in sample:
        out["phenotypicFeatures"] = [_feature(f) for f in sample["phenotypicFeatures"]]
    if "measurements" in sample:
        out["measurements"] = [_measurement(m) for m in sample["measurements"]]
    if "procedure" in sample:
        out["obtentionProcedure"] = {"procedureCode": sample["procedure"].get("code")}
    return out


def _age_text(value: Any) -> Any:
    if isinstance(value, dict) and isinstance(value.get("age"), dict):
        return value["age"].get("iso8601duration")
    return value


def convert(packet: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(entry type, Beacon record) pairs of one phenopacket: its individual, then biosamples."""
    subject = packet.get("subject") or {}
    individual_id = subject.get("id") or packet.get("id")
    individual: dict[str, Any] = {"id": individual_id}
    if "sex" in subject:
        individual["sex"] = _SEX.get(str(subject["sex"]), _SEX["UNKNOWN_SEX"])
    if "karyotypicSex" in subject:
        individual["karyotypicSex"] = subject["karyotypicSex"]
    if "phenotypicFeatures" in packet:
        individual["phenotypicFeatures"] = [_feature(f) for f in packet["phenotypicFeatures"]]
    if "diseases" in packet:
        individual["diseases"] = [_disease(d) for d in packet["diseases"]]
    if "measurements" in packet:
        individual["measures"] = [_measurement(m) for m in packet["measurements"]]
    individual["info"] = {"phenopacketId": packet.get("id")}
    records: list[tuple[str, dict[str, Any]]] = [("individual", individual)]
    for sample in packet.get("biosamples") or ():
        records.append(("biosample", _biosample(sample, str(individual_id))))
    return records
