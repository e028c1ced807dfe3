"""Loading genomicVariations.json (gdi_node.beacon.ingest.bff_variants): a record the node
cannot place is refused whole, in one line, with nothing half-loaded."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gdi_node.beacon.ingest.metadata import MetadataIngestor
from gdi_node.bootstrap import migrated_sessions
from gdi_node.config.settings import Settings
from gdi_node.db.models import BeaconVariant
from gdi_node.errors import InvalidInputError
from tests.conftest import shared_path


def test_an_empty_reference_is_refused_naming_the_record_and_nothing_is_loaded(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    folder = tmp_path / "ega-test"
    shutil.copytree(shared_path("data") / "beacon" / "ega-test", folder)
    path = folder / "genomicVariations.json"
    records = json.loads(path.read_text())
    records[3]["variation"]["referenceBases"] = ""  # an unanchored insertion
    path.write_text(json.dumps(records))
    with migrated_sessions(make_settings()) as sessions:
        with pytest.raises(InvalidInputError) as refused:
            MetadataIngestor(sessions).ingest(
                sorted(folder.glob("*.json")), "DS-PUBLIC", accept_invalid=True
            )
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(BeaconVariant)) == 0
    message = str(refused.value)
    assert "\n" not in message
    assert "genomicVariations.json[3]" in message
    assert "referenceBases is empty" in message
