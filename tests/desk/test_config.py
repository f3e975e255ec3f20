import tomllib
from pathlib import Path

import pytest

from xl_addin.config.settings import DEFAULT_CONFIG_TEXT, load_settings, parse_settings
from xl_addin.errors import ConfigError


def test_default_text_parses_to_defaults_without_warnings():
    settings = parse_settings(tomllib.loads(DEFAULT_CONFIG_TEXT), Path("x.toml"))
    assert settings.warnings == []
    assert settings.desk.timezone == "Asia/Shanghai"
    assert settings.tracking.refresh_interval_minutes == 120
    assert settings.workbooks.orders == "订单确认单.xlsx"


def test_default_text_names_secrets_only_by_environment_variable():
    assert "KUAIDI100_KEY" in DEFAULT_CONFIG_TEXT
    data = tomllib.loads(DEFAULT_CONFIG_TEXT)
    for section in data.values():
        for key in section:
            assert key in {"password_env", "key_env", "customer_env", "salt_env"} or "password" not in key


def test_wrong_type_names_section_and_key(tmp_path):
    (tmp_path / "xl-logistics.toml").write_text("[tracking]\nrefresh_interval_minutes = \"two hours\"\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "[tracking] refresh_interval_minutes" in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_bad_choice_lists_the_allowed_values(tmp_path):
    (tmp_path / "xl-logistics.toml").write_text('[waybills]\nnumbering = "random"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "'carrier'" in str(err.value) and "'company'" in str(err.value)


def test_broken_toml_is_a_config_error(tmp_path):
    (tmp_path / "xl-logistics.toml").write_text("[desk\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_settings(tmp_path)


def test_unknown_keys_are_warnings_not_failures(tmp_path):
    (tmp_path / "xl-logistics.toml").write_text('[desk]\ncolour = "blue"\n[extra]\na = 1\n', encoding="utf-8")
    settings = load_settings(tmp_path)
    assert len(settings.warnings) == 2


def test_environment_overrides_store_and_base_url():
    settings = parse_settings({}, Path("x"))
    assert settings.store_url({"XL_LOGISTICS_DATABASE_URL": "postgresql://h/db"}) == "postgresql://h/db"
    assert settings.tracking_base_url({}) == "https://poll.kuaidi100.com"
    assert settings.tracking_base_url({"KUAIDI100_BASE_URL": "http://127.0.0.1:9"}) == "http://127.0.0.1:9"


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../etc/passwd", "Asia/Shanghai "])
def test_bad_desk_timezone_names_the_key_and_the_value(tmp_path, bad):
    (tmp_path / "xl-logistics.toml").write_text(f'[desk]\ntimezone = "{bad}"\n', encoding="utf-8")
    if bad.strip() == "Asia/Shanghai":  # surrounding blanks are not an error: the name is stored trimmed
        assert load_settings(tmp_path).desk.timezone == "Asia/Shanghai"
        return
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "[desk] timezone" in str(err.value) and bad in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_desk_timezone_is_the_configured_zone(tmp_path):
    from datetime import datetime, timezone

    from xl_addin.config.timezone import desk_timezone

    (tmp_path / "xl-logistics.toml").write_text('[desk]\ntimezone = "Europe/Berlin"\n', encoding="utf-8")
    tz = desk_timezone(load_settings(tmp_path))
    assert datetime(2026, 7, 1, 12, tzinfo=timezone.utc).astimezone(tz).hour == 14  # CEST, UTC+2
    china = desk_timezone(parse_settings({}, Path("x")))
    assert datetime(2026, 7, 1, 12, tzinfo=timezone.utc).astimezone(china).hour == 20


def test_an_empty_desk_timezone_is_china_time(tmp_path):
    (tmp_path / "xl-logistics.toml").write_text('[desk]\ntimezone = ""\n', encoding="utf-8")
    assert load_settings(tmp_path).desk.timezone == "Asia/Shanghai"
