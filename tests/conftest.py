"""Shared fixtures: a fresh app per test with a frozen clock, so every run is exact."""

from __future__ import annotations

import shutil

import pytest

from mock_server import create_app
from mock_server.runtime import EXTENSION_KEY

# 2026-01-01T00:00:00Z: the fixture's day 1 starts the next local day in each merchant's zone.
FROZEN_AT = 1767225600


@pytest.fixture(scope="session")
def redis_url():
    """A Redis for the shared store's tests (see tests/redis_server.py), stopped at the end of the session."""
    from tests.redis_server import url_or_skip

    url, proc, folder = url_or_skip()
    yield url
    if proc is not None:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


STORES = ["memory", "redis"]  # the params of a fixture that runs its tests on each store


def store_settings(request, kind: str) -> dict:
    """The MOCK_STORE settings of `kind`: {} for memory; for redis, the test Redis under keys of this test only."""
    if kind == "memory":
        return {}
    from tests.redis_server import forget, fresh_prefix

    url, prefix = request.getfixturevalue("redis_url"), fresh_prefix()
    request.addfinalizer(lambda: forget(url, prefix))
    return {"store": url, "store_prefix": prefix}


@pytest.fixture(params=STORES)
def app(request, tmp_path):
    """A fresh sandbox on each store: default fixture, frozen clock, recordings in a temp folder."""
    settings = {"clock": FROZEN_AT, "recordings_dir": str(tmp_path / "recordings")}
    return create_app({**settings, **store_settings(request, request.param)}, environ={})


@pytest.fixture
def client(app):
    """Flask test client of that app."""
    return app.test_client()


@pytest.fixture
def strict_answers(app):
    """Every 200 /v3 answer of `app` parsed strictly with tests/proto/v3.proto as it is sent (tests/proto_support.py).

    Rejections are kept on the watch (`.problems`; `.checked` counts per method) and fail the test at teardown.
    """
    from tests.proto_support import watch_answers

    watch = watch_answers(app)
    yield watch
    watch.assert_clean()


@pytest.fixture
def runtime(app):
    """The app's runtime (state, clock, inventory)."""
    return app.extensions[EXTENSION_KEY]


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(**MOCK_env) -> a started real server process, stopped after the test."""
    from tests.e2e.server import ServerProcess

    started = []

    def start(**env):
        server = ServerProcess(tmp_path, **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def gc_restored():
    """The test process's collector as it was: callbacks, thresholds, enabled, nothing frozen; no writer thread."""
    import gc

    from mock_server import process

    callbacks, thresholds = list(gc.callbacks), gc.get_threshold()
    yield
    gc.callbacks[:] = callbacks
    gc.set_threshold(*thresholds)
    gc.enable()
    gc.unfreeze()
    writer = process.background_writer()
    if writer is not None:
        writer.stop()
