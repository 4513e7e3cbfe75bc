"""The README's prose agrees with the data it talks about: slot times, service ids, how commands are run."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

from mock_server.config import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
FIXTURE = json.loads((ROOT / "fixtures" / "default.json").read_text(encoding="utf-8"))


def _local(start_sec: str, merchant_id: str) -> str:
    merchant = next(m for m in FIXTURE["merchants"].values() if m["merchant_id"] == merchant_id)
    return dt.datetime.fromtimestamp(int(start_sec), ZoneInfo(merchant["timezone"])).strftime("%H:%M")


def test_the_walk_through_names_the_times_of_the_slots_it_books():
    lookup = README[README.index("## A whole flow with curl") : README.index("## Methods")]
    first, second = re.findall(r'"start_sec": "(\d+)"', lookup)[:2]
    times = (_local(first, "salon-002"), _local(second, "salon-002"))
    assert times == ("09:00", "10:00")
    haircut = next(
        s for s in FIXTURE["services"].values() if (s["merchant_id"], s["service_id"]) == ("salon-002", "haircut")
    )
    staff = next(p["staff_name"] for p in haircut["staff"] if p["staff_id"] == "salon-002-st00")
    assert f"is the {times[0]} haircut with {staff} (`salon-002-st00`)" in lookup and f"and the {times[1]}?" in lookup
    assert f'`"available": false` for {times[0]}. Reschedule to {times[1]}' in lookup
    assert f"The recipes book the README's {times[0]} haircut" in README


def test_services_are_named_by_their_ids():
    ids = {s["service_id"] for s in FIXTURE["services"].values()}
    fixtures_section = README[README.index("## Fixtures and time") : README.index("### Feeds")]
    named = set(re.findall(r"`([a-z][a-z-]*)`", fixtures_section)) - {"dining", "appointments", "classes"}
    assert named & ids == {"dinner", "haircut", "color", "massage", "manicure", "yoga-flow", "hiit", "pilates"}
    assert not re.search(r"\bcolou?ring\b", README), "the service id is `color`"


def test_the_virtualenv_is_activated_once_and_commands_use_bare_names():
    assert "activate it once in your shell with\n`. .venv/bin/activate`" in README
    assert README.count(".venv/bin/") == 2  # that sentence only: `. .venv/bin/activate` and its `.venv/bin/`
