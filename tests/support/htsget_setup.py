"""A node with the shared htsget test files registered, for htsget tests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gdi_node.bootstrap import open_ingestor
from gdi_node.config.settings import Settings

SHARED_HTSGET = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "htsget"

FILES = {
    "bam": ("bam/htsnexus_test_NA12878.bam", "bam/htsnexus_test_NA12878.bam.bai"),
    "cram": ("cram/htsnexus_test_NA12878.cram", "cram/htsnexus_test_NA12878.cram.crai"),
    "vcf": ("vcf/sample1-bcbio-cancer.vcf.gz", "vcf/sample1-bcbio-cancer.vcf.gz.tbi"),
    "bcf": ("bcf/sample1-bcbio-cancer.bcf", "bcf/sample1-bcbio-cancer.bcf.csi"),
    "spec_vcf": ("vcf/spec-v4.3.vcf.gz", "vcf/spec-v4.3.vcf.gz.tbi"),
}
# The accession each file is registered under (``gdi-node ingest files --alias``): sample-style
# and EGA-file-style ids, fixed so tests can address files the way operators and clients do.
ACCESSIONS = {
    "bam": "NGC-000123",
    "cram": "EGAF00000000124",
    "vcf": "NGC-000125",
    "bcf": "EGAF00000000126",
    "spec_vcf": "SAMEA000127",
    "ctrl_bam": "NGC-CTRL-000128",
}


def node_settings(tmp_path: Path, public_url: str, database_url: str | None = None) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "public_url": public_url,
            "datasets": [
                {"id": "OPEN", "name": "Open test data", "security_level": "PUBLIC"},
                {"id": "CTRL", "name": "Controlled test data", "security_level": "CONTROLLED"},
            ],
            "trust": {"local_issuer": True, "residency": {"networks": ["127.0.0.0/8"]}},
        }
    )


@dataclass
class Registered:
    settings: Settings
    ids: dict[str, str]  # key in FILES (plus "ctrl_bam") -> the name tests address it by
    paths: dict[str, Path]
    object_ids: dict[str, str] = field(default_factory=dict)  # key -> the id the node minted

    def addressed_by(self, names: str) -> Registered:
        """This node with ``ids`` naming each file by ``"object id"`` or ``"accession"``."""
        ids = self.object_ids if names == "object id" else {k: ACCESSIONS[k] for k in self.ids}
        return replace(self, ids=dict(ids))


def register(settings: Settings, store: Path) -> Registered:
    """Copy the shared files into ``store`` and register them, each under its accession in
    :data:`ACCESSIONS` (one controlled BAM copy too); ``ids`` are the object ids."""
    store.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, (data, index) in FILES.items():
        target = store / Path(data).name
        shutil.copy(SHARED_HTSGET / data, target)
        shutil.copy(SHARED_HTSGET / index, store / Path(index).name)
        paths[key] = target
    controlled = store / "controlled" / "ctrl.bam"
    controlled.parent.mkdir()
    shutil.copy(paths["bam"], controlled)
    shutil.copy(store / "htsnexus_test_NA12878.bam.bai", controlled.with_suffix(".bam.bai"))
    paths["ctrl_bam"] = controlled
    ids: dict[str, Any] = {}
    with open_ingestor(settings) as ingestor:
        for key, path in paths.items():
            dataset = "CTRL" if key == "ctrl_bam" else "OPEN"
            aliases = [ACCESSIONS[key]]
            ids[key] = ingestor.ingest([path], dataset, aliases=aliases)[0].object_id
    return Registered(settings, ids, paths, dict(ids))


class ListenerRoutingClient:
    """The app's test client, except that absolute URLs at the data listener go over real HTTP.

    Ticket URLs of a node with ``htsget.data_listener`` point at another port, which the
    in-process test client cannot reach; this sends them through an ``httpx.Client``.
    """

    def __init__(self, app_client: Any, listener_base: str) -> None:
        import httpx

        self._app = app_client
        self._base = listener_base
        self._http = httpx.Client(timeout=30)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        target = self._http if url.startswith(self._base) else self._app
        return target.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.request("POST", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> Any:
        return self.request("OPTIONS", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> Any:
        return self.request("HEAD", url, **kwargs)

    def close(self) -> None:
        self._http.close()
