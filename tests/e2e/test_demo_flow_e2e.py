"""The scripted demo flow (python -m mock_server.recording.demo URL) against a server with a fault armed."""

from __future__ import annotations

from mock_server.recording.demo import http_caller, run_flow


def test_the_demo_flow_runs_to_the_end_whatever_the_fault(start_server):
    server = start_server()
    for rule in (
        {"method": "CreateBooking", "kind": "slot_taken"},
        {"method": "CreateBooking", "kind": "drop_connection"},
        {"method": "CheckAvailability", "kind": "malformed_json"},
    ):
        server.post("/_admin/reset", {})
        server.post("/_admin/faults", rule)
        notes: list[str] = []
        flow = run_flow(http_caller(server.url), notes.append)
        rpcs = [rpc for rpc, _, _ in flow]
        if rule["method"] == "CreateBooking":  # no booking made: nothing to change, and the flow says so
            assert "UpdateBooking" not in rpcs and "GetBookingStatus" in rpcs, rule
            assert notes == [
                "Ann's first booking was not made (a fault?): the steps that change it are left out",
                "Bob's room booking was not made (a fault?): the steps that change it are left out",
            ]
        else:
            assert len(flow) == 15 and notes == []
        statuses = {rpc: status for rpc, status, _ in flow}
        if rule["kind"] == "drop_connection":
            assert statuses["CreateBooking"] == 0 and flow[3][2].startswith("no answer: ")
        if rule["kind"] == "malformed_json":
            assert isinstance(flow[2][2], str)  # the broken answer as its text
