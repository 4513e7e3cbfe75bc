"""The pytest plugin against a shared sandbox (--rwg-url): two suites at once, each on a tenant of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SUITE = textwrap.dedent(
    """
    import json, urllib.request

    def _post(url, body):
        request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def test_the_last_spot_is_mine(rwg_sandbox):
        assert "/t/pytest-" in rwg_sandbox.url
        services = {(s["merchant_id"], s["service_id"]): s for s in rwg_sandbox.feed("services")["service"]}
        entry = next(e for group in rwg_sandbox.feed("availability")["service_availability"]
                     for e in group["availability"] if e["spots_open"] == 1
                     and e["confirmation_mode"] == "CONFIRMATION_MODE_SYNCHRONOUS"
                     and services[(e["merchant_id"], e["service_id"])]["prepayment_type"] != "REQUIRED"
                     and "rules" not in services[(e["merchant_id"], e["service_id"])])
        slot = {"merchant_id": entry["merchant_id"], "service_id": entry["service_id"],
                "start_sec": str(entry["start_sec"]), "duration_sec": str(entry["duration_sec"]),
                "resources": entry.get("resources", {})}
        user = {"user_id": "u1", "given_name": "A", "family_name": "B", "telephone": "+1 555", "email": "a@b.c"}
        for attempt in range(15):  # the same last spot, again and again, while the other suite does the same
            rwg_sandbox.reset()  # this suite's tenant only
            answer = _post(rwg_sandbox.url + "/v3/CreateBooking",
                           {"slot": slot, "user_information": user, "idempotency_token": f"tok-{attempt}"})
            assert answer.get("booking", {}).get("status") == "CONFIRMED", (attempt, answer)
            assert [b["booking_id"] for b in rwg_sandbox.bookings()] == ["B0000001"], attempt
    """
)


def test_two_suites_share_one_server_without_touching_each_other(start_server, tmp_path):
    server = start_server()
    (tmp_path / "test_suite.py").write_text(SUITE)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--rwg-url={server.url}",
        str(tmp_path / "test_suite.py"),
    ]
    runs = [
        subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    # Each suite forgot its tenant at the end: only the default is left.
    assert [t["name"] for t in server.get("/_admin/tenants")["tenants"]] == ["default"]
