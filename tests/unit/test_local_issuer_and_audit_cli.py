"""``gdi-node passport issue`` (the local issuer) and ``gdi-node audit verify|export``."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import text

from gdi_node.cli import main
from gdi_node.config.settings import Settings
from gdi_node.db.engine import make_engine
from gdi_node.errors import InvalidInputError
from gdi_node.passport.local_issuer import LocalIssuer, parse_condition, parse_duration


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


@pytest.fixture
def config(tmp_path: Path, make_settings: Callable[..., Settings], database_url: str) -> Path:
    data = make_settings(database_url=database_url).model_dump(mode="json")
    data["trust"]["local_issuer"] = True
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_issue_mints_a_passport_with_grant_and_registered_visas(config: Path) -> None:
    result = run(
        "--config",
        str(config),
        "passport",
        "issue",
        "--sub",
        "alice",
        "--dataset",
        "DS-CONTROLLED",
        "--registered",
        "--ttl",
        "15m",
        "--affiliation",
        "faculty@uni.example",
        "--condition",
        "type=AffiliationAndRole,value=const:faculty@uni.example",
    )
    assert result.exit_code == 0, result.stderr
    passport = claims_of(result.stdout.strip())
    assert passport["sub"] == "alice"
    assert passport["exp"] - passport["iat"] == 900
    visas = [claims_of(v)["ga4gh_visa_v1"] for v in passport["ga4gh_passport_v1"]]
    assert [v["type"] for v in visas] == [
        "ControlledAccessGrants",
        "AcceptedTermsAndPolicies",
        "ResearcherStatus",
        "AffiliationAndRole",
    ]
    assert visas[0]["value"] == "DS-CONTROLLED"
    assert visas[0]["conditions"] == [
        [{"type": "AffiliationAndRole", "value": "const:faculty@uni.example"}]
    ]


def test_issue_refuses_unknown_datasets_and_bad_durations(config: Path) -> None:
    result = run("--config", str(config), "passport", "issue", "--sub", "a", "--dataset", "NOPE")
    assert result.exit_code == 1
    assert "unknown dataset" in result.stderr
    result = run("--config", str(config), "passport", "issue", "--sub", "a", "--ttl", "forever")
    assert result.exit_code == 1
    assert "duration" in result.stderr


def test_issue_refuses_an_affiliation_that_is_not_role_at_affiliation(config: Path) -> None:
    """Passport v1.2 AffiliationAndRole: a visa without ``@`` would be ignored by every
    clearinghouse (this node included), so the local issuer does not mint one."""
    args = ("--config", str(config), "passport", "issue", "--sub", "a", "--affiliation")
    result = run(*args, "faculty")
    assert result.exit_code == 1
    assert "not of the form role@affiliation" in result.stderr
    assert run(*args, "faculty@uni.example").exit_code == 0


def test_issue_warns_when_the_node_does_not_trust_the_local_issuer(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(yaml.safe_dump(make_settings().model_dump(mode="json")), encoding="utf-8")
    result = run("--config", str(path), "passport", "issue", "--sub", "a")
    assert result.exit_code == 0
    assert "will not accept it" in result.stderr


def test_the_issuer_key_is_created_once_and_kept_private(settings: Settings) -> None:
    first = LocalIssuer.for_settings(settings)
    second = LocalIssuer.for_settings(settings)
    assert first.key.kid == second.key.kid
    key_file = settings.data_dir / "passport" / "local-issuer-key.json"
    assert key_file.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1h", 3600), ("7d", 604800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "0h", "1w", "h", "-1h"])
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_duration(bad)


@pytest.mark.parametrize("bad", ["value=const:x", "type=A", "type=A,value", "nonsense"])
def test_bad_conditions_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_condition(bad)


def _audited_node(config: Path) -> None:
    """Create audit rows through the real app (anonymous /permissions calls)."""
    from gdi_node.app import create_app
    from gdi_node.config.loading import load_settings

    settings = load_settings(config, env={})
    assert run("--config", str(config), "db", "upgrade").exit_code == 0
    with create_app(settings).test_client(client=("127.0.0.1", 1)) as client:
        for n in range(3):
            assert client.get("/permissions", headers={"X-Request-ID": f"q{n}"}).status_code == 200


def test_audit_verify_and_export(config: Path) -> None:
    _audited_node(config)
    result = run("--config", str(config), "audit", "verify")
    assert result.exit_code == 0
    assert "intact: 6 rows" in result.stdout
    exported = run("--config", str(config), "audit", "export")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [r["request_id"] for r in rows] == ["q0", "q0", "q1", "q1", "q2", "q2"]
    later = run("--config", str(config), "audit", "export", "--since", "2999-01-01")
    assert later.stdout == ""
    assert "0 decisions exported" in later.stderr


def test_audit_verify_detects_an_edited_row(config: Path) -> None:
    _audited_node(config)
    from gdi_node.config.loading import load_settings

    engine = make_engine(load_settings(config, env={}).effective_database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_records SET disclosure = 'none' WHERE id = 3"))
    engine.dispose()
    result = run("--config", str(config), "audit", "verify")
    assert result.exit_code == 1
    assert "BROKEN at row 3" in result.stderr
