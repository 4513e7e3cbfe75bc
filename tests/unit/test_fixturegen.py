"""The fixture generator: deterministic, time-independent, every failure cause has data."""

import datetime as dt
from zoneinfo import ZoneInfo

from mock_server import fixturegen
from mock_server.config import ROOT
from mock_server.storage import fixtures


def test_same_seed_gives_a_byte_identical_file(tmp_path):
    small = fixturegen.FixtureSize(merchants=4, days=2)
    fixturegen.write(fixturegen.generate(7, small), tmp_path / "a.json")
    fixturegen.write(fixturegen.generate(7, small), tmp_path / "b.json")
    fixturegen.write(fixturegen.generate(8, small), tmp_path / "c.json")
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert (tmp_path / "a.json").read_bytes() != (tmp_path / "c.json").read_bytes()


def test_committed_default_fixture_is_what_seed_42_generates(tmp_path):
    fixturegen.write(fixturegen.generate(42), tmp_path / "default.json")
    assert (tmp_path / "default.json").read_bytes() == (ROOT / "fixtures" / "default.json").read_bytes()


def test_file_is_a_tinydb_document_with_relative_slots(tmp_path):
    tables = fixturegen.generate(3, fixturegen.FixtureSize(merchants=3, days=2))
    fixturegen.write(tables, tmp_path / "f.json")
    data = fixtures.read(tmp_path / "f.json")
    assert data.meta["seed"] == 3
    assert data.merchants == tables["merchants"] and data.services == tables["services"]
    as_docs = [{k: v for k, v in zip(fixtures.SLOT_FIELDS, row, strict=True) if v not in ("", 0)} for row in data.slots]
    assert as_docs == tables["slots"]
    assert all(doc["day"] >= 1 for doc in as_docs)


def test_verticals_and_policies_cover_every_failure_cause():
    tables = fixturegen.generate(42)
    verticals = {m["vertical"] for m in tables["merchants"]}
    assert verticals == {"dining", "appointments", "classes"}
    assert any(s["prepayment_required"] for s in tables["services"])
    assert any(s["cancellation_window_sec"] for s in tables["services"])
    assert any(m["confirmation_mode"] == "CONFIRMATION_MODE_ASYNCHRONOUS" for m in tables["merchants"])
    slots = tables["slots"]
    assert any("party_size" in s for s in slots)
    assert any("staff_id" in s and s["spots_total"] == 1 for s in slots)
    assert any("room_id" in s and s["spots_total"] > 1 for s in slots)


def test_materialised_slots_are_in_the_future_in_local_time():
    data = fixtures.read(ROOT / "fixtures" / "default.json")
    anchor = 1767225600
    inventory = fixtures.materialise(data, anchor)
    assert inventory.slot_count == len(data.slots)
    assert all(slot.start_sec > anchor for slot in inventory.slots())
    doc = dict(zip(fixtures.SLOT_FIELDS, data.slots[0], strict=True))
    merchant = next(m for m in data.merchants if m["merchant_id"] == doc["merchant_id"])
    zone = ZoneInfo(merchant["timezone"])
    first = next(inventory.slots(merchant_id=doc["merchant_id"]))
    local = dt.datetime.fromtimestamp(first.start_sec, zone)
    assert local.strftime("%H:%M") == doc["local_time"]
    assert local.date() == dt.datetime.fromtimestamp(anchor, zone).date() + dt.timedelta(days=doc["day"])
