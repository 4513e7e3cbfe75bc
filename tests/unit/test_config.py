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


@pytest.mark.parametrize(
    "raw,value",
    [
        ("1", True),
        ("TRUE", True),
        ("yes", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("OFF", False),
    ],
)
def test_booleans_are_read_from_the_usual_words(raw, value):
    settings = Settings.load({"MOCK_RECORD": raw, "MOCK_REDACT_PII": raw, "MOCK_DB_FSYNC": raw, "MOCK_TRACE": raw})
    assert (settings.record, settings.redact_pii, settings.db_fsync, settings.trace) == (value,) * 4
    assert all(type(v) is bool for v in (settings.record, settings.redact_pii, settings.db_fsync, settings.trace))


def test_boolean_defaults_are_booleans():
    settings = Settings.load({})
    assert (settings.record, settings.redact_pii, settings.db_fsync, settings.trace) == (True, False, False, False)


@pytest.mark.parametrize("raw", ["2", "maybe", "enabled", "-1"])
def test_a_bad_boolean_names_the_variable(raw):
    with pytest.raises(
        SystemExit,
        match=rf"MOCK_TRACE must be a boolean \(1/0, true/false, yes/no, on/off\), "
        rf"got '{raw}'",
    ):
        Settings.load({"MOCK_TRACE": raw})


def test_the_retired_fast_path_is_ignored_in_the_env_and_refused_as_an_override():
    settings = Settings.load({"MOCK_FAST_PATH": "0"})  # an old compose file still starts
    assert settings == Settings.load({}) and not hasattr(settings, "fast_path")
    with pytest.raises(TypeError, match="unknown setting 'fast_path'"):
        Settings.load({}, fast_path=0)


def test_overrides_are_typed_like_the_env():
    settings = Settings.load(
        {"MOCK_RECORD": "1"}, record=0, redact_pii=1, trace="on", port="9001", clock=None, read_timeout_s=2
    )
    assert (settings.record, settings.redact_pii, settings.trace) == (False, True, True)
    assert (settings.port, settings.clock, settings.read_timeout_s) == (9001, None, 2.0)
    assert type(settings.read_timeout_s) is float


def test_a_string_override_gets_the_env_error():
    with pytest.raises(SystemExit, match="MOCK_PORT must be an integer, got 'eighty'"):
        Settings.load({}, port="eighty")


def test_an_unknown_override_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="unknown setting 'recrod'"):
        Settings.load({}, recrod=0)


@pytest.mark.parametrize(
    "name,value,kind",
    [
        ("record", 2, "bool"),
        ("port", True, "int"),
        ("host", 3, "str"),
        ("clock", 1.5, "int | None"),
        ("read_timeout_s", [], "float"),
    ],
)
def test_an_override_of_the_wrong_type_is_a_type_error(name, value, kind):
    with pytest.raises(TypeError, match=rf"setting '{name}' must be of type {re.escape(kind)}, got "):
        Settings.load({}, **{name: value})


def test_a_number_override_is_checked_like_the_env():
    with pytest.raises(SystemExit, match="MOCK_READ_TIMEOUT_S must be a positive number, got 0"):
        Settings.load({}, read_timeout_s=0)
    with pytest.raises(SystemExit, match="MOCK_MAX_JSON_DEPTH must be between 1 and 250, got 300"):
        Settings.load({}, max_json_depth=300)


def test_describe_names_each_type_and_shows_booleans_as_set_in_the_env():
    rows = {name: (default, kind) for name, default, kind in describe()}
    assert rows["MOCK_RECORD"] == ("1", "bool") and rows["MOCK_TRACE"] == ("0", "bool")
    assert rows["MOCK_CLOCK"] == ("", "int | None") and rows["MOCK_READ_TIMEOUT_S"] == ("10.0", "float")
    assert rows["MOCK_PORT"] == ("8080", "int") and rows["MOCK_HOST"] == ("127.0.0.1", "str")
    assert "MOCK_FAST_PATH" not in rows


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MOCK_STORE": "mysql://db"}, "MOCK_STORE must be memory or a Redis URL (redis://HOST:PORT/DB, rediss://..."),
        (
            {"MOCK_STORE": "redis://r:6379/0", "MOCK_DB_PATH": "data/state.json"},
            "MOCK_DB_PATH is the memory store's persistence; with MOCK_STORE on Redis, durability is Redis's",
        ),
        ({"MOCK_WORKERS": "2"}, "MOCK_WORKERS=2 needs a shared store: each worker process would hold its own bookings"),
        ({"MOCK_WORKERS": "0"}, "MOCK_WORKERS must be 1 or more, got 0"),
    ],
)
def test_a_store_that_cannot_serve_as_configured_stops_the_start_naming_why(env, message):
    with pytest.raises(SystemExit) as stopped:
        Settings.load(env)
    assert str(stopped.value).startswith(message)


def test_redis_urls_and_several_workers_on_them_are_accepted():
    for url in ("redis://127.0.0.1:6379/0", "rediss://r:6380/1", "unix:///tmp/r.sock?db=2"):
        settings = Settings.load({"MOCK_STORE": url, "MOCK_WORKERS": "2"})
        assert (settings.store, settings.workers) == (url, 2)


@pytest.mark.parametrize("url", ["ftp://google.example", "https://user:secret@google.example/base"])
def test_notify_url_is_a_plain_http_base(url):
    with pytest.raises(SystemExit, match="MOCK_NOTIFY_URL must"):
        Settings.load({"MOCK_NOTIFY_URL": url})


def test_notify_url_may_hold_an_at_sign_in_its_path():
    assert Settings.load({"MOCK_NOTIFY_URL": "http://127.0.0.1:9/a@b"}).notify_url == "http://127.0.0.1:9/a@b"
