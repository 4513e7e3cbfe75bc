"""Settings from the environment, and the README's config table kept in step with the code."""

import re

import pytest

from mock_server.config import ROOT, Settings, describe


def test_env_overrides_defaults_and_overrides_win():
    settings = Settings.load({"MOCK_PORT": "9000", "MOCK_BASIC_AUTH": "a:b"}, seed=7)
    assert (settings.port, settings.basic_auth, settings.seed, settings.host) == (9000, "a:b", 7, "127.0.0.1")


def test_bad_integer_names_the_variable():
    with pytest.raises(SystemExit, match="MOCK_PORT must be an integer"):
        Settings.load({"MOCK_PORT": "eighty"})


def test_readme_config_table_lists_every_setting_with_its_default():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(MOCK_[A-Z_]+)` \| `?([^`|]*?)`? \|", readme, flags=re.M))
    expected = {name: default or "(unset)" for name, default, _ in describe()}
    assert rows == expected


@pytest.mark.parametrize("raw", ["0", "251", "-3"])
def test_json_depth_is_bounded(raw):
    with pytest.raises(SystemExit, match="MOCK_MAX_JSON_DEPTH must be between 1 and 250"):
        Settings.load({"MOCK_MAX_JSON_DEPTH": raw})


@pytest.mark.parametrize("raw", ["0", "-1", "nan", "inf", "soon"])
def test_read_timeout_must_be_a_positive_number(raw):
    with pytest.raises(SystemExit, match="MOCK_READ_TIMEOUT_S must be a positive number"):
        Settings.load({"MOCK_READ_TIMEOUT_S": raw})
