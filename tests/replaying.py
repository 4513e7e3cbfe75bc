"""Helpers for the recording and replay tests: a recording app, a flow caller, an in-process replay target."""

from __future__ import annotations

from mock_server import create_app
from mock_server.recording import replay_target
from tests.conftest import FROZEN_AT


def make_app(tmp_path, name: str, **overrides):
    """A sandbox with a frozen clock recording to <tmp_path>/rec/<name>.jsonl."""
    settings = {"clock": FROZEN_AT, "recordings_dir": str(tmp_path / "rec"), "recording": name, **overrides}
    return create_app(settings, environ={})


def caller(client):
    """The `call(method, path, body) -> (status, json)` the demo flow takes, over a Flask test client."""

    def call(method, path, body):
        response = client.open(path, method=method, json=body)
        return response.status_code, response.get_json()

    return call


def replay_in_process(monkeypatch) -> None:
    """`rwg-sandbox replay --target` sends to a fresh in-process sandbox instead of over HTTP."""
    target = create_app({"clock": FROZEN_AT, "record": 0}, environ={}).test_client()

    class InProcess(replay_target.Target):
        def send(self, method, url, body, headers):
            response = target.open(url, method=method, data=body, headers=headers)
            return response.status_code, response.get_data()

    monkeypatch.setattr(replay_target, "Target", InProcess)
