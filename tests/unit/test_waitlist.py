"""Waitlist rules that need no server: an entry's course over time, the status by time of day, phone countries,
the notifier's payload, and the generated rules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from mock_server import fixturegen
from mock_server.domain.models import UserInformation
from mock_server.domain.waitlist import (
    NO_SHOW,
    SEATED,
    SYNCHRONOUS,
    Estimate,
    WaitlistEntry,
    changed_since,
    phone_supported,
    status_at,
    unnotified,
)
from mock_server.notify.body import WAITLIST_MASK, waitlist_entry_body, waitlist_entry_path

RULES = {
    "schedule": [
        {"from": "17:00", "to": "18:00", "status": "CLOSED_NO_WAIT"},
        {"from": "18:00", "to": "21:00", "status": "OPEN"},
        {"from": "21:00", "to": "22:30", "status": "CLOSED_OTHER"},
    ],
    "phone_country_codes": ["1", "44"],
}
HOURS = [{"open": "17:00", "close": "22:30"}]


def entry(confirm_sec: int = 0, outcome: str = SEATED, events=()) -> WaitlistEntry:
    return WaitlistEntry(
        entry_id="W0000001",
        merchant_id="m",
        service_id="s",
        party_size=2,
        user=UserInformation("u"),
        created_sec=1000,
        confirmation_mode=SYNCHRONOUS,
        confirm_sec=confirm_sec,
        ready_sec=1600,
        turn_sec=600,
        walk_ins_ahead=1,
        outcome=outcome,
        settle_sec=300,
        events=list(events),
    )


def test_an_entry_waits_is_served_then_seated_or_a_no_show():
    seated, missing = entry(), entry(outcome=NO_SHOW)
    assert [seated.state_at(t) for t in (1000, 1599, 1600, 1899, 1900)] == [
        "WAITING",
        "WAITING",
        "SERVICE_READY",
        "SERVICE_READY",
        "SEATED",
    ]
    assert missing.state_at(1900) == "NO_SHOW"
    assert missing.state_times(1900) == {
        "created_time_seconds": "1000",
        "service_readied_time_seconds": "1600",
        "marked_no_show_time_seconds": "1900",
    }


def test_an_asynchronous_entry_is_pending_until_confirmed():
    pending = entry(confirm_sec=1300)
    assert [pending.state_at(t) for t in (1000, 1299, 1300)] == ["PENDING_MERCHANT_CONFIRMATION"] * 2 + ["WAITING"]


def test_an_explicit_change_stops_the_planned_course():
    canceled = entry(events=[("CANCELED", 1200)])
    assert canceled.timeline() == [("WAITING", 1000), ("CANCELED", 1200)]
    assert canceled.state_at(5000) == "CANCELED"
    assert canceled.state_times(5000) == {"created_time_seconds": "1000", "canceled_time_seconds": "1200"}
    # Cancelled in its first second, it still was created.
    assert entry(events=[("CANCELED", 1000)]).timeline() == [("WAITING", 1000), ("CANCELED", 1000)]


def test_changed_since_lists_what_the_clock_moved():
    assert changed_since(entry(), 1000, 2000) == [("SERVICE_READY", 1600), ("SEATED", 1900)]
    assert changed_since(entry(), 1600, 1899) == []


def test_unnotified_moves_start_after_the_creation_and_the_last_one_told():
    assert unnotified(entry(), 2000) == [("SERVICE_READY", 1600), ("SEATED", 1900)]
    told = entry()
    told.notified_sec = 1600
    assert unnotified(told, 2000) == [("SEATED", 1900)]
    assert unnotified(told, 1500) == []  # the clock set back: nothing is told again


def test_the_notification_is_the_whole_entry_in_the_maps_booking_apis_shape():
    estimate = Estimate(2, 0, 1600, 0, SYNCHRONOUS)
    assert waitlist_entry_path("p", "W0000001") == "/v1alpha/notification/partners/p/waitlistEntries/W0000001"
    assert WAITLIST_MASK == ("waitlistEntryState", "waitlistEntryStateTimes")
    assert waitlist_entry_body(entry(), estimate, "p", 1600) == {
        "name": "partners/p/waitlistEntries/W0000001",
        "merchantId": "m",
        "serviceId": "s",
        "partySize": 2,
        "waitlistEntryState": "SERVICE_READY",
        "waitlistEntryStateTimes": {
            "createdTime": "1970-01-01T00:16:40Z",
            "serviceReadiedTime": "1970-01-01T00:26:40Z",
        },
        "waitEstimate": {"partySize": 2, "waitLength": {}, "waitlistConfirmationMode": SYNCHRONOUS},
    }
    waiting = waitlist_entry_body(entry(), Estimate(2, 1, 1600, 600, SYNCHRONOUS), "p", 1000)
    assert waiting["waitEstimate"]["waitLength"] == {
        "partiesAheadCount": 1,
        "estimatedSeatTimeRange": {"startTime": "1970-01-01T00:21:40Z", "endTime": "1970-01-01T00:31:40Z"},
    }


def _at(hhmm: str, zone: str = "Europe/Madrid") -> int:
    hour, minute = map(int, hhmm.split(":"))
    return int(dt.datetime(2026, 3, 2, hour, minute, tzinfo=ZoneInfo(zone)).timestamp())


def test_the_status_follows_the_local_time_of_day():
    cases = {
        "16:59": ("CLOSED_OTHER", False),
        "17:00": ("CLOSED_NO_WAIT", True),
        "18:00": ("OPEN", True),
        "20:59": ("OPEN", True),
        "21:00": ("CLOSED_OTHER", True),
        "22:30": ("CLOSED_OTHER", False),
    }
    for hhmm, expected in cases.items():
        assert status_at(RULES, HOURS, "Europe/Madrid", _at(hhmm)) == expected, hhmm


def test_phone_numbers_of_other_countries_are_refused():
    assert phone_supported(RULES, "+1 555-0100")
    assert phone_supported(RULES, "+44 20 7946 0000")
    assert not phone_supported(RULES, "+81 80-1111-2222")
    assert phone_supported(RULES, "555-0100")  # no country code: a local number


def test_the_generated_waitlists_reach_every_cause():
    tables = fixturegen.generate(seed=42)
    waitlists = [s["waitlist"] for s in tables["services"] if "waitlist" in s]
    assert len(waitlists) == sum(m["vertical"] == "dining" for m in tables["merchants"])
    for rules in waitlists:
        assert [p["status"] for p in rules["schedule"]] == ["CLOSED_NO_WAIT", "OPEN", "CLOSED_OTHER"]
        sizes = [m["party_size"] for m in rules["wait_model"]]
        assert sizes == list(range(rules["min_party_size"], rules["max_party_size"] + 1))
    assert any(r["min_party_size"] > 1 for r in waitlists)  # BELOW_MIN_PARTY_SIZE with a valid party_size
    assert any(r["phone_country_codes"] == ["1"] for r in waitlists)
    assert any(r["confirmation_mode"] == "WAITLIST_CONFIRMATION_MODE_ASYNCHRONOUS" for r in waitlists)
    assert fixturegen.generate(seed=42) == tables  # seeded: the same rules every run
