"""The tenants registry: stopping, forgetting and refusing, without a server in front of it."""

from __future__ import annotations

import os
from pathlib import Path

from mock_server import create_app
from mock_server.tenancy import TENANTS_KEY


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_stop_releases_holds_in_every_tenant_even_one_made_after(tmp_path):
    app = create_app({"record": False})
    tenants = app.extensions[TENANTS_KEY]
    early = tenants.get("early")
    tenants.stop()
    late = tenants.get("late")
    # A stopped engine holds nothing: hold() answers at once that the server is stopping.
    assert tenants.default.engine.hold(10_000) and early.engine.hold(10_000) and late.engine.hold(10_000)


def test_forgetting_a_tenant_releases_its_files(tmp_path):
    app = create_app({"recordings_dir": str(tmp_path), "recording": "r", "db_path": str(tmp_path / "db.json")})
    client, tenants = app.test_client(), app.extensions[TENANTS_KEY]
    client.get("/t/warm/v3/HealthCheck")
    client.delete("/_admin/tenants/warm")
    before = open_fds()
    for n in range(5):
        assert client.get(f"/t/t{n}/v3/HealthCheck").status_code == 200  # journal and store files opened
        assert client.delete(f"/_admin/tenants/t{n}").status_code == 204
    assert open_fds() == before
    assert sorted(p.name for p in Path(tmp_path).iterdir() if "--t" in p.name) == [f"r--t{n}.jsonl" for n in range(5)]
    assert [t.name for t in tenants.all()] == ["default"]


def test_a_tenant_only_on_disk_is_deleted_with_its_files(tmp_path):
    settings = {"record": False, "db_path": str(tmp_path / "db.json")}
    create_app(settings).test_client().get("/t/kept/v3/HealthCheck")
    assert (tmp_path / "db--kept.json").exists()
    restarted = create_app(settings).test_client()  # the tenant is on disk, not in memory
    assert restarted.delete("/_admin/tenants/kept").status_code == 204
    assert not (tmp_path / "db--kept.json").exists()
    assert restarted.delete("/_admin/tenants/kept").status_code == 404


def test_a_tenant_that_cannot_start_is_a_503_naming_why(tmp_path, monkeypatch):
    from mock_server.faults import scenarios

    monkeypatch.setattr(scenarios, "directory", lambda: tmp_path)
    scenario = tmp_path / "mine.json"
    scenario.write_text('{"description": "d", "rules": [{"method": "*", "kind": "delay", "delay_ms": 1}]}')
    app = create_app({"record": False, "scenario": "mine"})
    scenario.unlink()  # gone since start-up: a new tenant cannot load it
    answer = app.test_client().get("/t/fresh/v3/HealthCheck")
    assert answer.status_code == 503 and answer.get_json()["message"].startswith("tenant 'fresh' cannot start: ")
    assert app.test_client().get("/v3/HealthCheck").status_code == 200  # the server serves on
