"""The fixture generator: deterministic, time-independent, every failure cause has data."""

import datetime as dt
import random
import re
from zoneinfo import ZoneInfo

import pytest
from faker import Faker
from faker.providers.address import de_DE, en_GB, en_US, fr_FR, ja_JP

from mock_server import fixturegen
from mock_server.config import ROOT
from mock_server.storage import fixtures


def test_same_seed_gives_a_byte_identical_file(tmp_path):
    small = fixturegen.FixtureSize(merchants=8, days=2)  # every country's locale, and the second round
    fixturegen.write(fixturegen.generate(7, small), tmp_path / "a.json")
    # Each locale's Faker is seeded from the generator's rng: global seeds (random's, Faker's) change nothing.
    random.seed(99)
    Faker.seed(99)
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


# What each country's merchants must look like, written out here rather than read from the generator.
COUNTRY_RULES = {  # country: (time zone pattern, postcode pattern, calling code, currency)
    "US": (r"America/\w+", r"\d{5}", "+1", "USD"),
    "GB": (r"Europe/London", r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}", "+44", "GBP"),
    "AU": (r"Australia/\w+", r"\d{4}", "+61", "AUD"),
    "DE": (r"Europe/Berlin", r"\d{5}", "+49", "EUR"),
    "FR": (r"Europe/Paris", r"\d{5}", "+33", "EUR"),
    "JP": (r"Asia/Tokyo", r"\d{3}-\d{4}", "+81", "JPY"),
}
AU_STATE_OF_ZONE = {
    "Australia/Sydney": "NSW",
    "Australia/Melbourne": "VIC",
    "Australia/Brisbane": "QLD",
    "Australia/Perth": "WA",
}
AU_POSTCODE_DIGIT = {"NSW": "2", "VIC": "3", "QLD": "4", "WA": "6"}
FRENCH_DEPARTMENTS = dict((name, number) for number, name in fr_FR.Provider.departments)


def _region_agrees(address: dict, timezone: str) -> bool:
    region, postcode = address["region"], address["postal_code"]
    match address["country"]:
        case "US":
            low, high = en_US.Provider.states_postcode[region]
            return low <= int(postcode) <= high
        case "AU":
            return region == AU_STATE_OF_ZONE[timezone] and postcode[0] == AU_POSTCODE_DIGIT[region]
        case "GB":
            return region in en_GB.Provider.counties
        case "DE":
            return region in de_DE.Provider.states
        case "FR":
            number = FRENCH_DEPARTMENTS[region]
            return postcode.startswith("20" if number in ("2A", "2B") else number) and not number.startswith("97")
        case "JP":
            return region in ja_JP.Provider.prefectures
    return False


@pytest.mark.parametrize("seed", [42, 1, 2, 3, 4, 5])
def test_every_merchant_is_coherent_for_its_country(seed):
    tables = fixturegen.generate(seed, fixturegen.FixtureSize(merchants=12, days=1))
    assert {m["address"]["country"] for m in tables["merchants"]} == set(COUNTRY_RULES)
    for merchant in tables["merchants"]:
        address, at = merchant["address"], merchant["merchant_id"]
        zone, postcode, calling_code, currency = COUNTRY_RULES[address["country"]]
        assert re.fullmatch(zone, merchant["timezone"]), at
        assert re.fullmatch(postcode, address["postal_code"]), at
        assert _region_agrees(address, merchant["timezone"]), at
        assert address["street_address"] and address["locality"] and "\n" not in address["street_address"], at
        assert re.fullmatch(r"\+[1-9]\d{7,14}", merchant["telephone"]), at  # E.164
        assert merchant["telephone"].startswith(calling_code), at
        for service in (s for s in tables["services"] if s["merchant_id"] == merchant["merchant_id"]):
            assert service["currency_code"] == currency, (at, service["service_id"])
            units, fraction = divmod(service["price_micros"], 1_000_000)
            assert fraction == 0, (at, service["service_id"])  # whole units: yen have no minor unit
            if units and currency == "JPY":
                assert 1_000 <= units <= 50_000, (at, service["service_id"])
            elif units:
                assert 5 <= units <= 300, (at, service["service_id"])


@pytest.mark.parametrize("seed", range(12))
def test_prepayment_only_where_google_allows_it_and_always_with_a_price(seed):
    tables = fixturegen.generate(seed, fixturegen.FixtureSize(merchants=12, days=1))
    mode = {m["merchant_id"]: m["confirmation_mode"] for m in tables["merchants"]}
    for service in tables["services"]:
        at = (service["merchant_id"], service["service_id"])
        if service["prepayment_required"]:
            assert mode[service["merchant_id"]] != "CONFIRMATION_MODE_ASYNCHRONOUS", at
            assert service["price_micros"] > 0, at
        else:
            assert "refund_conditions" not in service, at  # nothing paid, nothing to refund


def test_prepaid_dinners_occur_among_the_seeds_and_list_a_price():
    """The prepaid-dinner branch (a set-menu deposit as its price) is one the seeds above exercise."""
    dinners = [
        s
        for seed in range(12)
        for s in fixturegen.generate(seed, fixturegen.FixtureSize(merchants=12, days=1))["services"]
        if s["service_id"] == "dinner" and s["prepayment_required"]
    ]
    assert dinners and all(s["price_micros"] > 0 for s in dinners)
