"""Feeds in Actions Center format, reflecting live state."""

import pytest

from tests.conftest import FROZEN_AT
from tests.helpers import book, find_slot


def test_merchant_feed(client, runtime):
    body = client.get("/feeds/merchants.json").get_json()
    assert body["metadata"] == {
        "processing_instruction": "PROCESS_AS_COMPLETE",
        "shard_number": 0,
        "total_shards": 1,
        "nonce": str(FROZEN_AT),
        "generation_timestamp": FROZEN_AT,
    }
    assert len(body["merchant"]) == 12
    first = body["merchant"][0]
    merchant = runtime.bookings.inventory.merchants[first["merchant_id"]]
    assert first == {
        "merchant_id": merchant.merchant_id,
        "name": merchant.name,
        "telephone": merchant.telephone,
        "url": merchant.url,
        "category": merchant.category,
        "geo": {**merchant.geo, "address": merchant.address},
    }


def test_service_feed_shows_the_policies(client, runtime):
    services = client.get("/feeds/services.json").get_json()["service"]
    assert len(services) == 28
    by_key = {(s["merchant_id"], s["service_id"]): s for s in services}
    prepaid = find_slot(runtime, prepaid=True)
    entry = by_key[(prepaid.merchant_id, prepaid.service_id)]
    assert entry["prepayment_type"] == "REQUIRED"
    assert entry["localized_service_name"]["localized_value"][0]["locale"] == "en"
    dining = next(s for s in services if s["merchant_id"].startswith("dining"))
    assert dining["type"] == "SERVICE_TYPE_DINING_RESERVATION"


def test_availability_feed_reflects_live_spots(client, runtime):
    slot = find_slot(runtime, vertical="classes")
    book(client, slot)
    body = client.get(f"/feeds/availability.json?merchant_id={slot.merchant_id}").get_json()
    entries = [a for group in body["service_availability"] for a in group["availability"]]
    assert all(e["merchant_id"] == slot.merchant_id for e in entries)
    mine = next(e for e in entries if e["start_sec"] == slot.start_sec and e["service_id"] == slot.service_id)
    assert mine == {
        "merchant_id": slot.merchant_id,
        "service_id": slot.service_id,
        "start_sec": slot.start_sec,
        "duration_sec": slot.duration_sec,
        "spots_total": slot.spots_total,
        "spots_open": slot.spots_total - 1,
        "confirmation_mode": "CONFIRMATION_MODE_SYNCHRONOUS",
        "resources": {"room_id": slot.room_id, "room_name": slot.room_name},
        "availability_tag": slot.availability_tag,
    }


def _feed_slot_count(client) -> int:
    """How many slots the availability feed lists, over every service."""
    feed = client.get("/feeds/availability.json").get_json()
    return sum(len(g["availability"]) for g in feed["service_availability"])


def test_availability_feed_leaves_out_the_past_and_unknown_merchants_404(client, runtime):
    total = _feed_slot_count(client)
    assert total == runtime.bookings.inventory.slot_count
    runtime.clock.advance(3 * 86400)
    fewer = _feed_slot_count(client)
    assert 0 < fewer < total
    assert client.get("/feeds/availability.json?merchant_id=nope").status_code == 404


def test_merchant_id_narrows_the_merchant_feed_to_that_merchant(client):
    everyone = client.get("/feeds/merchants.json").get_json()["merchant"]
    salon = next(m for m in everyone if m["merchant_id"] == "salon-002")
    body = client.get("/feeds/merchants.json?merchant_id=salon-002").get_json()
    assert body == {**client.get("/feeds/merchants.json").get_json(), "merchant": [salon]}


def test_merchant_id_narrows_the_service_feed_to_that_merchants_services(client):
    everything = client.get("/feeds/services.json").get_json()["service"]
    body = client.get("/feeds/services.json?merchant_id=salon-002").get_json()
    assert body["service"] == [s for s in everything if s["merchant_id"] == "salon-002"]
    assert [s["service_id"] for s in body["service"]] == ["haircut", "color", "manicure"]
    assert body["metadata"] == client.get("/feeds/services.json").get_json()["metadata"]


def test_merchant_id_narrows_the_availability_feed_to_that_merchants_slots(client):
    everything = client.get("/feeds/availability.json").get_json()["service_availability"]
    body = client.get("/feeds/availability.json?merchant_id=salon-002").get_json()
    assert body["service_availability"] == [g for g in everything if g["availability"][0]["merchant_id"] == "salon-002"]
    assert len(body["service_availability"]) == 3


@pytest.mark.parametrize("feed", ["merchants", "services", "availability"])
@pytest.mark.parametrize("merchant_id", ["nope", ""])
def test_every_feed_answers_an_unknown_merchant_with_a_404(client, feed, merchant_id):
    answer = client.get(f"/feeds/{feed}.json?merchant_id={merchant_id}")
    assert answer.status_code == 404
    assert answer.get_json() == {"code": 404, "status": "Not Found", "message": f"unknown merchant_id {merchant_id!r}"}
