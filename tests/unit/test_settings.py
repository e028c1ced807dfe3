"""Settings: YAML plus GDI_NODE_* variables, validated with errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdi_node.config.loading import load_settings
from gdi_node.config.settings import SecurityLevel, SettingsError


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_use_embedded_sqlite_in_the_data_directory() -> None:
    settings = load_settings(None, env={})
    assert settings.database_url is None
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.effective_database_url.endswith("gdi-node-data/gdi-node.sqlite3")


def test_yaml_file_values_are_used(tmp_path: Path) -> None:
    config = write(
        tmp_path / "node.yaml",
        "server: {port: 9000}\ndatasets:\n  - {id: DS1, name: One, security_level: REGISTERED}\n",
    )
    settings = load_settings(config, env={})
    assert settings.server.port == 9000
    assert settings.datasets[0].security_level is SecurityLevel.REGISTERED


def test_environment_variables_override_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "node.yaml", "server: {port: 9000, host: 0.0.0.0}\n")
    env = {
        "GDI_NODE_SERVER__PORT": "9100",
        "GDI_NODE_DATABASE_URL": "postgresql://gdi@localhost/gdi",
    }
    settings = load_settings(config, env=env)
    assert settings.server.port == 9100
    assert settings.server.host == "0.0.0.0"
    assert settings.effective_database_url == "postgresql://gdi@localhost/gdi"


def test_config_file_can_come_from_gdi_node_config(tmp_path: Path) -> None:
    config = write(tmp_path / "node.yaml", "public_url: https://node.example.org/\n")
    settings = load_settings(None, env={"GDI_NODE_CONFIG": str(config)})
    assert settings.public_url == "https://node.example.org"
    assert settings.drs_hostname == "node.example.org"


def test_bad_value_error_names_the_key_and_the_variable_it_came_from() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, env={"GDI_NODE_SERVER__PORT": "70000"})
    message = str(caught.value)
    assert "server.port (from GDI_NODE_SERVER__PORT)" in message
    assert "70000" in message


def test_bad_value_error_names_the_key_and_the_file(tmp_path: Path) -> None:
    config = write(tmp_path / "node.yaml", "server:\n  workers: zero\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config, env={})
    assert f"server.workers (in {config})" in str(caught.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path / "node.yaml", "sever: {port: 1}\n")
    with pytest.raises(SettingsError, match=r"sever .*unknown key"):
        load_settings(config, env={})


def test_unknown_gdi_node_variable_is_refused() -> None:
    with pytest.raises(SettingsError, match="GDI_NODE_DATABSE_URL"):
        load_settings(None, env={"GDI_NODE_DATABSE_URL": "sqlite:///x"})


def test_test_and_benchmark_variables_are_not_settings() -> None:
    env = {"GDI_NODE_TEST_POSTGRES_URL": "postgresql://x/y", "GDI_NODE_BENCH_CACHE": "/tmp/b"}
    settings = load_settings(None, env=env)
    assert settings.database_url is None


def test_invalid_yaml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    config = write(tmp_path / "node.yaml", "server: [unclosed\n")
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(config, env={})


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read the file"):
        load_settings(tmp_path / "absent.yaml", env={})


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    config = write(tmp_path / "node.yaml", "- a\n- b\n")
    with pytest.raises(SettingsError, match="must be a mapping"):
        load_settings(config, env={})


def test_duplicate_dataset_ids_are_refused() -> None:
    env = {"GDI_NODE_DATASETS": "[{id: A, name: a}, {id: A, name: b}]"}
    with pytest.raises(SettingsError, match="repeated: A"):
        load_settings(None, env=env)


def test_dataset_ids_must_be_safe_identifiers() -> None:
    with pytest.raises(SettingsError, match=r"datasets\.0\.id"):
        load_settings(None, env={"GDI_NODE_DATASETS": "[{id: 'a b/c', name: x}]"})


def test_relative_data_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    config = write(tmp_path / "conf" / "node.yaml", "data_dir: store\n")
    settings = load_settings(config, env={})
    assert settings.data_dir == tmp_path / "conf" / "store"


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("GDI_NODE_DATABASE_URL", "mysql://x/y", "database_url"),
        ("GDI_NODE_PUBLIC_URL", "node.example.org", "public_url"),
        ("GDI_NODE_LOGGING__LEVEL", "LOUD", "logging.level"),
        ("GDI_NODE_NODE__ENVIRONMENT", "moon", "node.environment"),
    ],
)
def test_each_invalid_value_names_its_key(variable: str, value: str, key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(None, env={variable: value})
    assert caught.value.problems[0][0] == f"{key} (from {variable})"


def test_the_shipped_example_configuration_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "gdi-node.example.yaml"
    settings = load_settings(example, env={})
    assert settings.server.workers == 4
    assert [d.id for d in settings.datasets] == ["GDI-NATIONAL-WGS", "GDI-AF"]
    assert settings.data_dir == Path("/var/lib/gdi-node")


def test_the_example_configurations_commented_federation_block_is_valid(tmp_path: Path) -> None:
    """The example documents a hub's ``federation:`` section commented out (a node is a hub
    only when asked to be); uncommented, it must load."""
    text = (Path(__file__).resolve().parents[2] / "gdi-node.example.yaml").read_text("utf-8")
    block = text[text.index("# federation:") :].splitlines()
    config = tmp_path / "hub.yaml"
    config.write_text("\n".join(line[2:] for line in block), encoding="utf-8")
    settings = load_settings(config, env={})
    assert settings.federation is not None
    assert [m.id for m in settings.federation.members] == ["north"]


def test_trusted_issuers_must_use_https_unless_insecure_http_is_allowed() -> None:
    trust = "{passport_issuers: [{issuer: 'http://aai.example', jwks_urls: ['http://aai.example/jwk']}]}"
    with pytest.raises(SettingsError, match="must use https"):
        load_settings(None, env={"GDI_NODE_TRUST": trust})


def test_production_refuses_the_local_issuer_and_insecure_http() -> None:
    env = {"GDI_NODE_NODE__ENVIRONMENT": "prod", "GDI_NODE_TRUST__LOCAL_ISSUER": "true"}
    env["GDI_NODE_NODE__ID"] = "org.example.genome.gdi-node"
    with pytest.raises(SettingsError, match=r"refused when node\.environment is prod"):
        load_settings(None, env=env)


def test_production_refuses_the_default_node_id_that_makes_the_beacon_id() -> None:
    with pytest.raises(SettingsError, match=r"node\.id is the default"):
        load_settings(None, env={"GDI_NODE_NODE__ENVIRONMENT": "prod"})
    chosen = {"GDI_NODE_NODE__ENVIRONMENT": "prod", "GDI_NODE_NODE__ID": "dk.ngc.gdi-node"}
    assert load_settings(None, env=chosen).node.id == "dk.ngc.gdi-node"


def test_ticket_urls_use_the_data_listener_when_one_is_configured() -> None:
    plain = load_settings(None, env={"GDI_NODE_PUBLIC_URL": "https://node.example.org"})
    assert plain.data_base_url == "https://node.example.org"
    listener = load_settings(
        None,
        env={
            "GDI_NODE_PUBLIC_URL": "https://node.example.org",
            "GDI_NODE_HTSGET__DATA_LISTENER__PORT": "8081",
        },
    )
    assert listener.data_base_url == "http://127.0.0.1:8081"
    fronted = load_settings(
        None,
        env={
            "GDI_NODE_HTSGET__DATA_LISTENER__PORT": "8081",
            "GDI_NODE_HTSGET__DATA_LISTENER__PUBLIC_URL": "https://data.node.example.org/",
        },
    )
    assert fronted.data_base_url == "https://data.node.example.org"


def test_a_data_listener_needs_a_port_and_an_absolute_public_url() -> None:
    with pytest.raises(SettingsError, match=r"htsget\.data_listener\.port"):
        load_settings(None, env={"GDI_NODE_HTSGET__DATA_LISTENER__HOST": "0.0.0.0"})
    with pytest.raises(SettingsError, match=r"htsget\.data_listener\.public_url"):
        load_settings(
            None,
            env={
                "GDI_NODE_HTSGET__DATA_LISTENER__PORT": "8081",
                "GDI_NODE_HTSGET__DATA_LISTENER__PUBLIC_URL": "data.example.org",
            },
        )


def test_trusted_proxies_are_networks_none_by_default_and_settable_by_variable() -> None:
    assert load_settings(None, env={}).server.trusted_proxies == ()
    env = {"GDI_NODE_SERVER__TRUSTED_PROXIES": "[10.42.0.0/16, '2001:db8::/32']"}
    server = load_settings(None, env=env).server
    assert [str(n) for n in server.proxy_networks()] == ["10.42.0.0/16", "2001:db8::/32"]
    with pytest.raises(SettingsError) as caught:
        load_settings(None, env={"GDI_NODE_SERVER__TRUSTED_PROXIES": "[ingress.local]"})
    message = str(caught.value)
    assert "server.trusted_proxies (from GDI_NODE_SERVER__TRUSTED_PROXIES)" in message
    assert "'ingress.local' is not an IP network in CIDR notation" in message
