"""The authorization audit trail: pseudonyms, the hash chain, export and the writer thread.

Storage tests run on SQLite and PostgreSQL (the ``database_url`` fixture). Nothing here asserts
on timings: "record() does not write" is shown with a long flush interval and a flush after.
"""

from __future__ import annotations

import io
import json
import socket
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from gdi_node.db.engine import make_engine, make_session_factory
from gdi_node.db.migrate import upgrade
from gdi_node.db.models import AuditChainHead, AuditRecord
from gdi_node.passport.audit import (
    AuditTrail,
    AuditUnavailableError,
    load_or_create_subject_key,
    pseudonymous_subject,
)
from gdi_node.passport.audit_chain import chain_hash, export_jsonl, verify_chain
from gdi_node.passport.audit_event import AuditEvent, RefusedVisa

KEY = bytes(range(32))
ISS = "https://aai.example.org/oidc/"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def event(i: int, **changes: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "time": T0 + timedelta(minutes=i),
        "subject_iss": ISS,
        "subject_sub": f"researcher-{i}@example.org",
        "operation": "htsget.getReads",
        "dataset_id": "DS-CONTROLLED",
        "object_id": f"obj-{i}",
        "decision": "allow",
        "disclosure": "file",
        "visa_ids": (f"jti-{i}-a", f"jti-{i}-b"),
        "client_address": "192.0.2.7",
        "request_id": f"req-{i}",
    }
    values.update(changes)
    return AuditEvent(**values)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def trail(sessions: sessionmaker[Session]) -> Iterator[AuditTrail]:
    trail = AuditTrail(sessions, KEY, batch_size=4, flush_interval=0.05)
    yield trail
    trail.close()


@pytest.fixture
def chain(sessions: sessionmaker[Session], trail: AuditTrail) -> sessionmaker[Session]:
    """Ten records, ids 1..10, written in three batches."""
    for i in range(1, 11):
        trail.record(event(i))
    trail.flush()
    assert verify_chain(sessions).ok
    return sessions


def rows(sessions: sessionmaker[Session]) -> list[AuditRecord]:
    with sessions() as session:
        return list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))


def count_rows(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(AuditRecord)) or 0)


def edit(sessions: sessionmaker[Session], row_id: int, **values: Any) -> None:
    with sessions() as session, session.begin():
        session.execute(update(AuditRecord).where(AuditRecord.id == row_id).values(**values))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_subject_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit-subject.key"
    key = load_or_create_subject_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_subject_key(path) == key
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_racing_processes_agree_on_one_subject_key(tmp_path: Path) -> None:
    path = tmp_path / "audit-subject.key"
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_or_create_subject_key(path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert set(keys) == {path.read_bytes()}


def test_subject_key_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "short.key"
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_subject_key(path)


def test_pseudonym_is_keyed_and_depends_on_issuer_and_subject() -> None:
    one = pseudonymous_subject(KEY, ISS, "alice")
    assert one == pseudonymous_subject(KEY, ISS, "alice")
    assert len(one) == 64
    assert int(one, 16) >= 0
    others = {
        pseudonymous_subject(KEY, ISS, "bob"),
        pseudonymous_subject(KEY, "https://other.example/", "alice"),
        pseudonymous_subject(bytes(32), ISS, "alice"),
    }
    assert one not in others
    assert len(others) == 3


def test_events_are_stored_with_a_pseudonymous_subject(
    sessions: sessionmaker[Session], trail: AuditTrail
) -> None:
    trail.record(event(1, subject_sub="alice@example.org"))
    trail.record(
        event(
            2,
            subject_iss=None,
            subject_sub=None,
            decision="deny",
            disclosure="none",
            visa_ids=(),
            client_address=None,
            request_id=None,
            dataset_id=None,
        )
    )
    trail.flush()
    named, anonymous = rows(sessions)
    assert named.subject == pseudonymous_subject(KEY, ISS, "alice@example.org")
    stored = json.dumps([str(getattr(named, c.key)) for c in AuditRecord.__table__.columns])
    assert "alice" not in stored
    assert named.operation == "htsget.getReads"
    assert json.loads(named.visa_ids) == ["jti-1-a", "jti-1-b"]
    assert named.time.replace(tzinfo=named.time.tzinfo or UTC) == T0 + timedelta(minutes=1)
    assert (named.id, anonymous.id) == (1, 2)
    assert anonymous.subject is None
    assert (anonymous.decision, anonymous.disclosure, anonymous.visa_ids) == ("deny", "none", "[]")
    assert anonymous.dataset_id is None
    assert anonymous.prev_hash == named.row_hash


@pytest.mark.parametrize(
    "change",
    [
        {"decision": "maybe"},
        {"disclosure": "everything"},
        {"operation": ""},
        {"operation": "x" * 65},
        {"subject_sub": None},
        {"time": datetime(2026, 1, 1)},  # naive
    ],
)
def test_events_our_own_code_got_wrong_are_refused_at_once(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    trail = AuditTrail(make_session_factory(engine), KEY)
    with pytest.raises(ValueError):  # noqa: PT011 - several messages
        trail.record(event(1, **change))
    assert trail.pending == 0
    trail.close()
    engine.dispose()


def test_chain_verifies_after_many_batches(
    sessions: sessionmaker[Session], trail: AuditTrail
) -> None:
    for i in range(1, 101):
        trail.record(event(i, decision="deny" if i % 3 else "allow"))
        if i % 30 == 0:
            trail.flush()
    trail.flush()
    report = verify_chain(sessions)
    assert report.ok, report
    assert report.rows == 100
    assert [row.id for row in rows(sessions)] == list(range(1, 101))
    with sessions() as session:
        head = session.get(AuditChainHead, 1)
        assert head is not None
        assert (head.last_id, head.last_hash) == (100, rows(sessions)[-1].row_hash)


def test_empty_chain_verifies(sessions: sessionmaker[Session]) -> None:
    assert verify_chain(sessions) == verify_chain(sessions)
    assert verify_chain(sessions).ok
    assert verify_chain(sessions).rows == 0


@pytest.mark.parametrize(
    "values",
    [
        {"time": T0},
        {"subject": "f" * 64},
        {"subject": None},
        {"operation": "drs.getObject"},
        {"dataset_id": "DS-PUBLIC"},
        {"dataset_id": None},
        {"object_id": "obj-other"},
        {"decision": "deny"},
        {"disclosure": "none"},
        {"visa_ids": '["jti-forged"]'},
        {"visa_ids": "not json"},
        {"client_address": "198.51.100.1"},
        {"request_id": "req-other"},
        {"prev_hash": "1" * 64},
        {"row_hash": "2" * 64},
    ],
    ids=lambda values: "-".join(f"{k}={str(v)[:8]}" for k, v in values.items()),
)
def test_editing_a_middle_row_is_detected_with_its_id(
    chain: sessionmaker[Session], values: dict[str, Any]
) -> None:
    edit(chain, 5, **values)
    report = verify_chain(chain)
    assert not report.ok
    assert report.first_bad_id == 5
    assert report.problem


def test_refused_grants_are_chained_and_hiding_or_adding_one_is_detected(
    sessions: sessionmaker[Session], trail: AuditTrail
) -> None:
    """Decision record 0010: the refused grants of a decision are part of its row's hash when
    present; rows without any (all rows written before migration 0009) hash as before."""
    refused = (RefusedVisa("aai-grant-1", "https://aai.example.org/", "https://dac.example/1"),)
    for i in range(1, 5):
        trail.record(event(i, refused_visas=refused if i == 2 else ()))
    trail.flush()
    assert verify_chain(sessions).ok
    stored = [json.loads(line).get("refused_visas") for line in _exported(sessions)]
    entry = {
        "id": "aai-grant-1",
        "iss": "https://aai.example.org/",
        "source": "https://dac.example/1",
    }
    assert stored == [None, [entry], None, None]
    edit(sessions, 2, refused_visas=None)
    assert (verify_chain(sessions).ok, verify_chain(sessions).first_bad_id) == (False, 2)
    edit(sessions, 2, refused_visas=json.dumps([entry], separators=(",", ":")))
    assert verify_chain(sessions).ok
    edit(sessions, 3, refused_visas=json.dumps([entry]))
    assert (verify_chain(sessions).ok, verify_chain(sessions).first_bad_id) == (False, 3)


def test_a_forged_but_consistent_row_hash_breaks_the_next_link(
    chain: sessionmaker[Session],
) -> None:
    fields = json.loads(_exported(chain)[4])
    del fields["row_hash"]
    prev_hash = fields.pop("prev_hash")
    fields["operation"] = "beacon.individuals"
    edit(chain, 5, operation="beacon.individuals", row_hash=chain_hash(prev_hash, fields))
    report = verify_chain(chain)
    assert (report.ok, report.first_bad_id) == (False, 6)


def test_deleting_a_middle_row_is_detected(chain: sessionmaker[Session]) -> None:
    with chain() as session, session.begin():
        session.execute(delete(AuditRecord).where(AuditRecord.id == 4))
    report = verify_chain(chain)
    assert (report.ok, report.first_bad_id) == (False, 4)
    assert "missing" in str(report.problem)


def test_deleting_the_last_rows_is_detected(chain: sessionmaker[Session]) -> None:
    with chain() as session, session.begin():
        session.execute(delete(AuditRecord).where(AuditRecord.id >= 9))
    report = verify_chain(chain)
    assert (report.ok, report.rows, report.first_bad_id) == (False, 8, 9)
    assert "missing" in str(report.problem)


def test_writing_after_a_cut_tail_keeps_the_cut_visible(
    chain: sessionmaker[Session], trail: AuditTrail
) -> None:
    with chain() as session, session.begin():
        session.execute(delete(AuditRecord).where(AuditRecord.id == 10))
    trail.record(event(11))
    trail.flush()
    report = verify_chain(chain)
    assert (report.ok, report.first_bad_id) == (False, 10)


def test_swapping_two_rows_is_detected(chain: sessionmaker[Session]) -> None:
    columns = [c.key for c in AuditRecord.__table__.columns if c.key != "id"]
    third, seventh = rows(chain)[2], rows(chain)[6]
    edit(chain, 3, **{c: getattr(seventh, c) for c in columns})
    edit(chain, 7, **{c: getattr(third, c) for c in columns})
    report = verify_chain(chain)
    assert (report.ok, report.first_bad_id) == (False, 3)


def test_a_missing_head_row_is_detected(chain: sessionmaker[Session]) -> None:
    with chain() as session, session.begin():
        session.execute(delete(AuditChainHead))
    report = verify_chain(chain)
    assert not report.ok
    assert "head" in str(report.problem)


def _exported(sessions: sessionmaker[Session], since: datetime | None = None) -> list[str]:
    out = io.StringIO()
    count = export_jsonl(sessions, out, since=since)
    lines = out.getvalue().splitlines()
    assert count == len(lines)
    return lines


def test_export_is_json_lines_that_recompute_the_chain(chain: sessionmaker[Session]) -> None:
    prev_hash = "0" * 64
    for number, line in enumerate(_exported(chain), start=1):
        fields = json.loads(line)
        assert fields["id"] == number
        assert datetime.fromisoformat(fields["time"]) == T0 + timedelta(minutes=number)
        assert fields["visa_ids"] == [f"jti-{number}-a", f"jti-{number}-b"]
        row_hash = fields.pop("row_hash")
        assert fields.pop("prev_hash") == prev_hash
        assert chain_hash(prev_hash, fields) == row_hash
        prev_hash = row_hash


def test_export_since_filters_on_time(chain: sessionmaker[Session]) -> None:
    since = T0 + timedelta(minutes=7)
    lines = _exported(chain, since=since)
    assert [json.loads(line)["id"] for line in lines] == [7, 8, 9, 10]
    in_another_zone = since.astimezone(timezone(timedelta(hours=2)))
    assert _exported(chain, since=in_another_zone) == lines
    assert _exported(chain, since=T0 + timedelta(days=1)) == []


def test_concurrent_writers_make_one_valid_chain(
    database_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    other = make_engine(database_url)  # a second "worker process"
    trails = [
        AuditTrail(make_session_factory(engine), KEY, batch_size=5, flush_interval=0.01),
        AuditTrail(make_session_factory(other), KEY, batch_size=3, flush_interval=0.01),
    ]

    def work(trail: AuditTrail, name: str) -> None:
        for i in range(40):
            trail.record(event(i, request_id=f"{name}-{i}"))

    threads = [
        threading.Thread(target=work, args=(trail, f"w{n}-t{t}"))
        for n, trail in enumerate(trails)
        for t in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for trail in trails:
        trail.close(timeout=30)
    other.dispose()
    sessions = make_session_factory(engine)
    report = verify_chain(sessions)
    assert report.ok, report
    assert report.rows == 240
    expected = {f"w{n}-t{t}-{i}" for n in range(2) for t in range(3) for i in range(40)}
    assert {row.request_id for row in rows(sessions)} == expected
    # Writers wait for the head lock; they never collide on an id and have to retry.
    assert not [r for r in caplog.records if r.name == "gdi_node.passport.audit"]


def test_record_only_enqueues(sessions: sessionmaker[Session]) -> None:
    trail = AuditTrail(sessions, KEY, batch_size=1000, flush_interval=3600)
    trail.record(event(1))
    assert trail.pending == 1
    assert count_rows(sessions) == 0  # the writer waits for a batch or the interval
    trail.flush()
    assert trail.pending == 0
    assert count_rows(sessions) == 1
    trail.close()


def test_close_flushes_and_is_idempotent(sessions: sessionmaker[Session]) -> None:
    trail = AuditTrail(sessions, KEY, batch_size=1000, flush_interval=3600)
    for i in range(1, 4):
        trail.record(event(i))
    trail.close()
    trail.close()
    assert count_rows(sessions) == 3
    with pytest.raises(RuntimeError, match="closed"):
        trail.record(event(4))


def test_unreachable_sqlite_keeps_events_until_it_appears(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'not-yet' / 'audit.sqlite3'}"
    early = create_engine(url)  # unlike make_engine, does not create the folder
    trail = AuditTrail(make_session_factory(early), KEY, batch_size=2, flush_interval=0.01)
    for i in range(1, 6):
        trail.record(event(i))
    with pytest.raises(TimeoutError):
        trail.flush(timeout=0.3)
    assert trail.pending == 5
    ready = make_engine(url)
    upgrade(ready)
    trail.flush(timeout=30)
    trail.close()
    sessions = make_session_factory(ready)
    assert verify_chain(sessions).rows == 5
    assert [row.request_id for row in rows(sessions)] == [f"req-{i}" for i in range(1, 6)]
    early.dispose()
    ready.dispose()


def test_full_queue_blocks_record_instead_of_dropping(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'later' / 'audit.sqlite3'}"
    early = create_engine(url)
    trail = AuditTrail(make_session_factory(early), KEY, max_queue=2, flush_interval=0.01)
    trail.record(event(1))
    trail.record(event(2))
    third = threading.Thread(target=trail.record, args=(event(3),))
    third.start()
    third.join(0.2)
    assert third.is_alive()  # blocked, not dropped
    assert trail.pending == 2
    ready = make_engine(url)
    upgrade(ready)
    third.join(30)
    assert not third.is_alive()
    trail.close(timeout=30)
    assert verify_chain(make_session_factory(ready)).rows == 3
    early.dispose()
    ready.dispose()


def test_unreachable_postgres_times_out_without_losing_events() -> None:
    engine = make_engine(f"postgresql://gdi@127.0.0.1:{closed_port()}/postgres")
    trail = AuditTrail(make_session_factory(engine), KEY, flush_interval=0.01)
    for i in range(1, 4):
        trail.record(event(i))
    with pytest.raises(TimeoutError):
        trail.flush(timeout=0.3)
    assert trail.pending == 3
    with pytest.raises(TimeoutError, match="3 audit events"):
        trail.close(timeout=0.3)
    assert trail.pending == 3
    trail.close()  # idempotent even after a failed close
    engine.dispose()


# -- nothing a caller sends can stop the trail (issue #15 item 1) ------------------------------


def wait_for(condition: Any, seconds: float = 30) -> None:
    """Poll ``condition`` (a bounded wait for a background thread, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_caller_text_no_database_stores_is_recorded_escaped_and_the_chain_goes_on(
    sessions: sessionmaker[Session],
) -> None:
    trail = AuditTrail(sessions, KEY, batch_size=8, flush_interval=0.01)
    trail.record(event(1, object_id="g_variants \ud800x", request_id="a\0b"))
    trail.record(event(2, subject_sub="sub-\udfff", visa_ids=("jti-\ud83d", "ok")))
    for i in range(3, 6):
        trail.record(event(i))
    trail.flush(timeout=30)
    trail.close()
    stored = rows(sessions)
    assert [row.object_id for row in stored[:2]] == ["g_variants \\ud800x", "obj-2"]
    assert stored[0].request_id == "a\\x00b"
    assert json.loads(stored[1].visa_ids) == ["jti-\\ud83d", "ok"]
    assert stored[1].subject == pseudonymous_subject(KEY, ISS, "sub-\\udfff")
    assert [row.request_id for row in stored[2:]] == ["req-3", "req-4", "req-5"]
    assert verify_chain(sessions).ok


def test_an_event_the_database_refuses_is_isolated_and_not_its_batch(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Take away the escaping at record(), so the database itself meets the bad text.
    monkeypatch.setattr("gdi_node.passport.audit.storable", lambda text: text)
    trail = AuditTrail(sessions, KEY, batch_size=8, flush_interval=0.01)
    trail.record(event(1))
    trail.record(event(2, dataset_id="DS-\ud800"))
    trail.record(event(3))
    trail.flush(timeout=30)  # before: the batch failed forever and this timed out
    later = [event(i) for i in range(4, 7)]
    for item in later:
        trail.record(item)
    trail.flush(timeout=30)
    health = trail.health()
    trail.close()
    stored = rows(sessions)
    assert [row.request_id for row in stored] == [f"req-{i}" for i in range(1, 7)]
    assert stored[1].dataset_id == "DS-\\ud800"
    assert (health.escaped, health.dropped, health.pending) == (1, 0, 0)
    assert verify_chain(sessions).ok


@contextmanager
def database_later(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], Any]]:
    """Sessions on a SQLite file whose folder does not exist yet (every write fails), and a
    function that creates and migrates it, returning sessions on the ready database."""
    url = f"sqlite:///{tmp_path / 'later' / 'audit.sqlite3'}"
    engines = [create_engine(url)]  # unlike make_engine, does not create the folder

    def appear() -> sessionmaker[Session]:
        engines.append(make_engine(url))
        upgrade(engines[-1])
        return make_session_factory(engines[-1])

    try:
        yield make_session_factory(engines[0]), appear
    finally:
        for engine in engines:
            engine.dispose()


def test_a_writer_that_cannot_write_is_reported_stuck_until_it_writes_again(
    tmp_path: Path,
) -> None:
    with database_later(tmp_path) as (early, appear):
        trail = AuditTrail(early, KEY, flush_interval=0.01, stuck_after=0.2)
        assert not trail.health().stuck
        trail.record(event(1))
        wait_for(lambda: trail.health().stuck)
        health = trail.health()
        assert health.alive
        assert health.pending == 1
        assert health.write_failures >= 1
        assert health.failing_seconds > 0
        appear()
        trail.flush(timeout=30)
        assert not trail.health().stuck
        assert trail.health().failing_seconds == 0
        trail.close()
        assert not trail.health().alive


def test_a_durable_record_returns_only_once_its_row_is_committed(
    sessions: sessionmaker[Session],
) -> None:
    trail = AuditTrail(sessions, KEY, batch_size=1000, flush_interval=3600)
    trail.record(event(1))
    trail.record(event(2), durable=True)
    assert count_rows(sessions) == 2  # no flush(): durable wrote it (and what came before)
    trail.record(event(3))
    assert count_rows(sessions) == 2  # an ordinary record still only enqueues
    trail.close()


def test_a_durable_record_that_cannot_be_committed_is_refused_with_503_and_kept(
    tmp_path: Path,
) -> None:
    with database_later(tmp_path) as (early, appear):
        trail = AuditTrail(early, KEY, flush_interval=0.01, durable_timeout=0.2)
        with pytest.raises(AuditUnavailableError) as raised:
            trail.record(event(1), durable=True)
        assert raised.value.status == 503
        assert raised.value.headers["Retry-After"]
        assert trail.pending == 1  # kept: written once the database is back
        ready = appear()
        trail.close(timeout=30)
        assert verify_chain(ready).rows == 1


def test_a_full_queue_refuses_with_503_after_the_enqueue_timeout(tmp_path: Path) -> None:
    with database_later(tmp_path) as (early, _appear):
        trail = AuditTrail(early, KEY, max_queue=1, flush_interval=0.01, enqueue_timeout=0.2)
        trail.record(event(1))
        with pytest.raises(AuditUnavailableError):
            trail.record(event(2))
        assert trail.pending == 1
        with pytest.raises(TimeoutError):
            trail.close(timeout=0.2)
