"""Register genomic files in place into the object catalogue (``gdi-node ingest files``).

Files are never copied: the national HPC folder is the store. Each file's format is detected
from its content, its index found (or built when the file allows), and its size, SHA-256 and MD5
(the DRS 1.5 ``Checksum`` types ``sha-256`` and ``md5``) recorded. Ingest is idempotent per path:
the same file twice is one object; a changed file is refused unless ``update`` is asked for.
A batch is all-or-nothing: every file is checked before any row is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.db.catalogue import CatalogueRepository
from gdi_node.db.models import DataObject, IndexObject, ObjectAlias, utcnow
from gdi_node.errors import ConflictError, InvalidInputError, NotFoundError
from gdi_node.storage.checksums import FileDigest, digest_file
from gdi_node.storage.formats import FileFormat, detect_format
from gdi_node.storage.indexes import ensure_index
from gdi_node.storage.names import alias_taken, check_alias, shared_with_others

Status = Literal["registered", "unchanged", "updated"]
# (label, total bytes) -> a context manager yielding "advance by n bytes".
ProgressFactory = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file, with the identifiers a user needs next."""

    status: Status
    object_id: str
    drs_uri: str
    dataset_id: str
    path: str
    format: str
    size: int
    sha256: str
    md5: str
    index_path: str | None
    index_built: bool
    index_object_id: str | None = None
    aliases: tuple[str, ...] = ()
    shared_aliases: tuple[str, ...] = ()  # aliases naming other objects too: ambiguous in DRS


@dataclass(frozen=True)
class _Prepared:
    path: Path
    fmt: FileFormat
    digest: FileDigest
    mtime_ns: int
    index_path: Path
    index_built: bool
    index_digest: FileDigest
    index_mtime_ns: int
    existing: DataObject | None
    status: Status


def _no_progress(_label: str, _total: int) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda _n: None)


class FileIngestor:
    """Checks files and writes their catalogue rows in one transaction."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        drs_hostname: str,
        index_dir: Path,
        progress: ProgressFactory | None = None,
    ) -> None:
        self._sessions = session_factory
        self._drs_hostname = drs_hostname
        self._index_dir = index_dir
        self._progress = progress or _no_progress

    def ingest(
        self,
        paths: Sequence[Path],
        dataset_id: str,
        *,
        update: bool = False,
        aliases: Sequence[str] = (),
    ) -> list[IngestResult]:
        """Register ``paths`` in ``dataset_id``; on any failure raise and write nothing.

        Every object is aliased by its file name; ``aliases`` (accessions, say) are added to
        the one file given with them. Aliases shaped like the ids the node mints are refused;
        aliases naming other objects too are reported in ``shared_aliases`` (such a name is
        answered 409 where it stays ambiguous: gdi_node.storage.names, decision record 0029).
        """
        if not paths:
            raise InvalidInputError("no files given")
        if aliases and len(paths) != 1:
            raise InvalidInputError("--alias names one file: give exactly one path with it")
        for alias in aliases:
            check_alias(alias)
        resolved = [Path(p).resolve() for p in paths]
        repeated = sorted({str(p) for p in resolved if resolved.count(p) > 1})
        if repeated:
            raise InvalidInputError(f"the same file is named twice: {', '.join(repeated)}")
        with self._sessions() as session, session.begin():
            repo = CatalogueRepository(session)
            if repo.get_dataset(dataset_id) is None:
                raise NotFoundError(
                    f"dataset {dataset_id!r} is not declared; add it under 'datasets:' in the"
                    " configuration (then it is created on start-up or by 'gdi-node db upgrade')"
                )
            prepared = [self._prepare(repo, path, dataset_id, update) for path in resolved]
            try:  # the statements reading aliases flush the rows written before them
                results = [self._write(repo, item, dataset_id, aliases) for item in prepared]
                session.flush()
            except IntegrityError as exc:  # a concurrent ingest registered the same path
                raise ConflictError(f"catalogue changed during ingest: {exc.orig}") from None
        return results

    def _prepare(
        self, repo: CatalogueRepository, path: Path, dataset_id: str, update: bool
    ) -> _Prepared:
        fmt = detect_format(path)
        stat = path.stat()
        existing = repo.find_object_by_path(str(path))
        if existing is not None and existing.dataset_id != dataset_id:
            raise ConflictError(
                f"{path} is already registered in dataset {existing.dataset_id!r}"
                f" as {existing.id}; one file belongs to one dataset"
            )
        index_path, built = ensure_index(path, fmt, self._index_dir)
        index_stat = index_path.stat()
        known = existing.index if existing is not None else None
        if (
            known is not None
            and known.path == str(index_path)
            and known.size == index_stat.st_size
            and known.mtime_ns == index_stat.st_mtime_ns
        ):
            index_digest = FileDigest(known.size, known.sha256, known.md5)
        else:
            index_digest = digest_file(index_path)
        unchanged_on_disk = (
            existing is not None
            and existing.size == stat.st_size
            and existing.mtime_ns == stat.st_mtime_ns
        )
        if existing is not None and unchanged_on_disk:
            digest = FileDigest(existing.size, existing.sha256, existing.md5)
        else:
            with self._progress(path.name, stat.st_size) as advance:
                digest = digest_file(path, progress=advance)
        status: Status = "registered"
        if existing is not None:
            same = digest.sha256 == existing.sha256 and digest.size == existing.size
            if not same and not update:
                raise ConflictError(
                    f"{path} changed since it was registered as {existing.id}"
                    f" (size {existing.size} -> {digest.size}); use --update to record the new"
                    " content"
                )
            status = "unchanged" if same else "updated"
        return _Prepared(
            path,
            fmt,
            digest,
            stat.st_mtime_ns,
            index_path,
            built,
            index_digest,
            index_stat.st_mtime_ns,
            existing,
            status,
        )

    def _write(
        self, repo: CatalogueRepository, item: _Prepared, dataset_id: str, aliases: Sequence[str]
    ) -> IngestResult:
        row = item.existing
        if row is None:
            row = DataObject(id=_mint_id(repo.session), dataset_id=dataset_id, path=str(item.path))
            repo.session.add(row)
        if row.created_time is None:
            row.created_time = utcnow()
        if item.status != "unchanged" or row.mtime_ns != item.mtime_ns:
            row.updated_time = utcnow()
        row.name = item.path.name
        row.format = item.fmt.value
        row.index_path = str(item.index_path)
        row.size = item.digest.size
        row.mtime_ns = item.mtime_ns
        row.sha256 = item.digest.sha256
        row.md5 = item.digest.md5
        index = self._write_index(row, item)
        known = {a.alias for a in row.aliases}
        for alias in (row.name, *aliases):
            if alias not in known:
                row.aliases.append(ObjectAlias(alias=alias))
                known.add(alias)
        shared = shared_with_others(repo.session, row.id, sorted(known))
        return IngestResult(
            status=item.status,
            object_id=row.id,
            drs_uri=f"drs://{self._drs_hostname}/{row.id}",
            dataset_id=dataset_id,
            path=row.path,
            format=row.format,
            size=row.size,
            sha256=row.sha256,
            md5=row.md5,
            index_path=row.index_path,
            index_built=item.index_built,
            index_object_id=index.id,
            aliases=tuple(sorted(known)),
            shared_aliases=tuple(shared),
        )

    def _write_index(self, row: DataObject, item: _Prepared) -> IndexObject:
        """The index as a DRS object of its own, id ``<object id>.<extension>``."""
        extension = item.index_path.suffix.lstrip(".").lower()
        index = row.index
        if index is None:
            index = IndexObject(created_time=utcnow())
            row.index = index
        changed = (index.sha256, index.path) != (item.index_digest.sha256, str(item.index_path))
        if changed or index.updated_time is None:
            index.updated_time = utcnow()
        index.id = f"{row.id}.{extension}"
        index.name = item.index_path.name
        index.path = str(item.index_path)
        index.format = extension.upper()
        index.size = item.index_digest.size
        index.mtime_ns = item.index_mtime_ns
        index.sha256 = item.index_digest.sha256
        index.md5 = item.index_digest.md5
        return index


def _mint_id(session: Session) -> str:
    """A new object id, never equal to an alias (aliases of older catalogues may be UUIDs)."""
    while True:
        minted = str(uuid.uuid4())
        if not alias_taken(session, minted):
            return minted
