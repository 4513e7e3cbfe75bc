"""The serving entry: what it checks before serving, where it builds the app, what it sets up."""

import contextlib
import gc
import logging
import os

import pytest

from mock_server import create_app, process, serve
from mock_server.bodyread import BodyLimits
from mock_server.config import ROOT, Settings
from mock_server.tenancy import TENANTS_KEY

SERVING_PROCESS = serve.serving_process  # the real one: the fixture below stubs it for the other tests
STATE_POLICY = process.state_policy
NOW = 1767225600


@pytest.fixture(autouse=True)
def quiet_serving(monkeypatch):
    """serve() as a library call: pytest's log handlers, GC settings, callbacks and threads stay as they were."""
    monkeypatch.setattr(serve.logging, "basicConfig", lambda **_: None)
    monkeypatch.setattr(serve, "serving_process", lambda: None)
    monkeypatch.setattr(process, "state_policy", contextlib.nullcontext)


class FakeGranian:
    """Stands in for granian.Granian: records the options, and runs the loader as its worker would."""

    made: list = []

    def __init__(self, **options):
        self.options = options
        self.in_worker = False
        FakeGranian.made.append(self)

    def serve(self, target_loader, wrap_loader):
        self.in_worker = True  # granian forks here, and calls the loader in the worker
        self.app = target_loader()


def test_granian_builds_the_app_in_the_worker_not_in_the_parent(monkeypatch):
    import granian

    from mock_server import faults

    monkeypatch.setattr(granian, "Granian", FakeGranian)
    released = []  # the worker wires SIGTERM to release held requests: recorded, not done to pytest
    monkeypatch.setattr(faults, "release_holds_on_stop", released.append)
    monkeypatch.setattr(serve, "listen", lambda settings: None)  # the fake never binds: no socket needed
    installed = []  # the worker routes requests through granian_wsgi's runner: recorded, not done to granian
    monkeypatch.setattr(serve.granian_wsgi, "install", lambda limits, threads: installed.append((limits, threads)))
    FakeGranian.made.clear()
    built = []

    def factory(overrides, environ):
        built.append("worker" if FakeGranian.made and FakeGranian.made[0].in_worker else "parent")
        return create_app(overrides, environ)

    settings = Settings.load({}, port=18080, threads=3, clock=NOW, record=0)
    serve.serve(factory, settings)
    server = FakeGranian.made[0]
    assert built == ["worker"]
    assert released == [server.app.extensions[TENANTS_KEY]]  # every tenant's holds are released on stop
    assert server.app.extensions["mock_server"].settings == settings
    assert (server.options["port"], server.options["blocking_threads"], server.options["workers"]) == (
        18080,
        3 + serve.granian_wsgi.READERS,
        1,
    )
    assert installed == [(BodyLimits.of(server.app.extensions["mock_server"].settings), 3)]


def test_a_missing_fixture_is_said_before_serving(monkeypatch, tmp_path):
    monkeypatch.setattr(serve, "_granian", lambda build, settings: pytest.fail("served anyway"))
    missing = tmp_path / "nope.json"
    with pytest.raises(SystemExit, match=f"MOCK_FIXTURE: fixture file not found: {missing}"):
        serve.serve(create_app, Settings.load({}, fixture=str(missing)))


def test_an_unknown_server_is_refused(monkeypatch):
    with pytest.raises(SystemExit, match="MOCK_SERVER must be granian, waitress or werkzeug, not 'uwsgi'"):
        serve.serve(create_app, Settings.load({}, server="uwsgi"))


def test_the_serving_process_sets_itself_up_where_it_builds_the_app_before_building_it(monkeypatch):
    calls = []
    monkeypatch.setattr(serve, "serving_process", lambda: calls.append("process"))
    monkeypatch.setattr(serve, "_werkzeug", lambda build, settings: calls.append("server") or build())
    serve.serve(
        lambda overrides, environ: calls.append("build") or create_app(overrides, environ),
        Settings.load({}, server="werkzeug", clock=NOW, record=0),
    )
    assert calls == ["server", "process", "build"]


def test_the_serving_process_installs_the_pause_guard_and_starts_the_background_writer(monkeypatch, gc_restored):
    monkeypatch.setattr(process, "serving_logs", lambda stream: None)
    SERVING_PROCESS()
    guards = [cb for cb in gc.callbacks if isinstance(cb, process.PauseGuard)]
    assert len(guards) == 1 and gc.get_threshold()[2] == process.FULL_EVERY
    assert process.background_writer() is not None


def test_the_served_app_is_built_and_reset_under_the_gc_policy(monkeypatch, gc_restored):
    monkeypatch.setattr(process, "state_policy", STATE_POLICY)
    served = []
    monkeypatch.setattr(serve, "_waitress", lambda build, settings: served.append(build()))
    gc.unfreeze()
    serve.serve(create_app, Settings.load({}, server="waitress", clock=NOW, record=0))
    runtime = served[0].extensions["mock_server"]
    assert gc.get_freeze_count() > 0 and gc.isenabled()  # built with collection off, then frozen
    assert runtime.state_policy is STATE_POLICY
    gc.unfreeze()
    runtime.reset()
    assert gc.get_freeze_count() > 0 and gc.isenabled()


def test_the_start_line_comes_once_the_app_is_built_and_names_address_server_and_threads(monkeypatch, caplog):
    built = []
    monkeypatch.setattr(serve, "_waitress", lambda build, settings: built.append(build()))
    with caplog.at_level(logging.INFO, logger="mock_server"):
        serve.serve(create_app, Settings.load({}, server="waitress", port=9123, threads=2, clock=NOW, record=0))
    assert built[0].extensions["mock_server"].settings.port == 9123
    fixture = ROOT / "fixtures" / "default.json"  # resolved: the path the server really reads
    assert (
        f"Booking Server v3 sandbox on http://127.0.0.1:9123 (server=waitress, threads=2, fixture={fixture})"
        in caplog.text
    )


def test_an_app_that_cannot_be_built_is_one_error_line_and_exit_1(monkeypatch, caplog):
    def broken(overrides, environ):
        raise ValueError("fixture table 'slots' is not a list")

    monkeypatch.setattr(serve, "_waitress", lambda build, settings: build())
    with caplog.at_level(logging.INFO, logger="mock_server"), pytest.raises(SystemExit) as stopped:
        serve.serve(broken, Settings.load({}, server="waitress"))
    assert stopped.value.code == 1
    assert [r.getMessage() for r in caplog.records] == [
        "the sandbox cannot start: ValueError: fixture table 'slots' is not a list"
    ]


def test_serve_takes_the_factory_not_a_built_app():
    with pytest.raises(TypeError, match="app factory"):
        serve.serve(create_app({"clock": NOW, "record": 0}), Settings.load({}))


def test_serve_flags_reach_the_app_as_settings_without_touching_the_environment(monkeypatch):
    from mock_server.cli import main

    environ = dict(os.environ)
    served = []
    monkeypatch.setattr(serve, "_waitress", lambda build, settings: served.append(build()))
    assert (
        main(
            [
                "serve",
                "--server",
                "waitress",
                "--port",
                "18124",
                "--clock",
                str(NOW),
                "--threads",
                "3",
                "--basic-auth",
                "a:b",
            ]
        )
        == 0
    )
    settings = served[0].extensions["mock_server"].settings
    assert (settings.server, settings.port, settings.clock, settings.threads, settings.basic_auth) == (
        "waitress",
        18124,
        NOW,
        3,
        "a:b",
    )
    assert dict(os.environ) == environ


def test_a_bad_serve_flag_is_the_env_var_error(monkeypatch):
    from mock_server.cli import main

    monkeypatch.setattr(serve, "_waitress", lambda build, settings: pytest.fail("served anyway"))
    with pytest.raises(SystemExit, match="MOCK_PORT must be an integer, got 'http'"):
        main(["serve", "--server", "waitress", "--port", "http"])


def test_replay_serve_builds_a_replaying_app(monkeypatch, tmp_path):
    from mock_server.cli import main

    from ..helpers import journal_file

    source = create_app({"clock": NOW, "recordings_dir": str(tmp_path), "recording": "src"}, environ={})
    assert source.test_client().get("/v3/HealthCheck").status_code == 200
    recording = journal_file(source)
    environ = dict(os.environ)
    served = []
    monkeypatch.setattr(serve, "_granian", lambda build, settings: served.append((build(), settings.port)))
    assert main(["replay", str(recording), "--serve", "--port", "18123"]) == 0
    app, port = served[0]
    assert port == 18123 and app.extensions["mock_server"].settings.replay == str(recording)
    assert app.test_client().get("/v3/HealthCheck").status_code == 200
    assert dict(os.environ) == environ  # given to the app as settings, not through the environment
