"""Two apps on one Redis prefix stand for two servers: what one changes, the other serves (no processes needed)."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from mock_server import create_app
from mock_server.domain.errors import StoreFailed
from mock_server.domain.state import Change
from mock_server.runtime import EXTENSION_KEY
from mock_server.storage import redis_store
from tests.conftest import FROZEN_AT
from tests.helpers import book, create_body, find_slot
from tests.redis_server import forget, fresh_prefix


@pytest.fixture
def two(redis_url, tmp_path):
    """Two sandboxes on the same Redis keys, each with its own journal folder."""
    prefix = fresh_prefix()
    apps = [
        create_app(
            {
                "clock": FROZEN_AT,
                "recordings_dir": str(tmp_path / f"rec{n}"),
                "store": redis_url,
                "store_prefix": prefix,
            },
            environ={},
        )
        for n in (1, 2)
    ]
    yield apps
    forget(redis_url, prefix)


def test_a_change_decided_before_a_reset_elsewhere_is_refused_not_written_into_the_new_state(two):
    one, other = (app.extensions[EXTENSION_KEY] for app in two)
    slot = find_slot(one, vertical="classes", window=False)
    booking = book(two[0].test_client(), slot)
    before = one.bookings.state.booking(booking["booking_id"])  # what the rules read in server one
    other.reset()  # server two resets meanwhile: a new epoch
    with pytest.raises(StoreFailed, match="reset or deleted while this request ran; nothing was changed"):
        one.bookings.state.commit(Change(before, dataclasses.replace(before, status="CANCELED")))
    # Server one takes on the reset at its next request, and serves the empty state.
    assert two[0].test_client().get("/_admin/bookings").get_json()["bookings"] == []
    assert one.epoch == other.epoch


def test_a_reset_leaves_no_user_behind_and_ids_restart(two):
    client_one, client_two = (app.test_client() for app in two)
    runtime = two[0].extensions[EXTENSION_KEY]
    slot = find_slot(runtime, vertical="classes", window=False)
    first = book(client_one, slot, user_n=7)
    assert client_two.post("/_admin/reset").status_code == 200
    listed = client_one.post("/v3/ListBookings", json={"user_id": first["user_information"]["user_id"]}).get_json()
    assert listed == {"bookings": []}
    assert book(client_one, slot, user_n=8)["booking_id"] == "B0000001"


def test_deleting_a_tenant_through_either_server_erases_it_for_both(two):
    client_one, client_two = (app.test_client() for app in two)
    runtime = two[0].extensions[EXTENSION_KEY]
    slot = find_slot(runtime, vertical="classes", window=False)
    made = client_one.post("/t/acme/v3/CreateBooking", json=create_body(slot)).get_json()
    assert made["booking"]["booking_id"] == "B0000001"
    # Server two never served acme: its DELETE still erases acme's state in Redis.
    assert client_two.delete("/_admin/tenants/acme").status_code == 204
    # Server one still holds acme: its next request finds it gone from Redis and starts it afresh there.
    assert client_one.get("/t/acme/_admin/bookings").get_json()["bookings"] == []
    again = client_one.post("/t/acme/v3/CreateBooking", json=create_body(slot, token="t2")).get_json()
    assert again["booking"]["booking_id"] == "B0000001"
    assert client_two.delete("/_admin/tenants/nobody").status_code == 404


def test_a_delete_while_redis_is_down_is_a_503_and_keeps_the_tenant(two, monkeypatch):
    client = two[0].test_client()
    assert client.get("/t/acme/_admin/health").status_code == 200

    def down(*_args, **_kwargs):
        raise redis_store.redis.ConnectionError("Connection refused")

    monkeypatch.setattr(redis_store.redis.Redis, "eval", down)
    refused = client.delete("/_admin/tenants/acme")
    assert refused.status_code == 503 and "cannot be reached" in refused.get_json()["message"]
    monkeypatch.undo()
    assert [t["name"] for t in client.get("/_admin/tenants").get_json()["tenants"]] == ["default", "acme"]


RULE = {"method": "ListBookings", "kind": "http_error", "status": 503}


def list_status(client, prefix: str = "") -> int:
    return client.post(prefix + "/v3/ListBookings", json={"user_id": "u"}).status_code


def test_a_rule_added_again_under_a_used_up_id_gets_a_fresh_budget(two):
    client_one, client_two = (app.test_client() for app in two)
    for client in (client_one, client_two):  # the second add reuses the id the first one used up
        assert client.post("/_admin/faults", json={**RULE, "id": "x", "times": 1}).status_code == 201
        assert (list_status(client), list_status(client)) == (503, 200)
    assert [r["fired"] for r in client_one.get("/_admin/faults").get_json()["retired"]] == [1, 1]


def test_a_rule_change_racing_another_servers_is_refused_and_this_server_takes_the_others(two):
    client_one, client_two = (app.test_client() for app in two)
    engine_one = two[0].extensions["mock_server.tenants"].default.engine
    client_one.get("/_admin/faults")  # server one's copy is current
    assert client_two.post("/_admin/faults", json={**RULE, "id": "theirs"}).status_code == 201
    # Server one changes its copy without having seen server two's write (two requests at the same instant).
    with pytest.raises(
        StoreFailed, match="another server changed this tenant's clock, settings or fault rules at the same"
    ):
        engine_one.add({**RULE, "id": "mine"}, FROZEN_AT)
    listed = client_one.get("/_admin/faults").get_json()["faults"]
    assert [r["id"] for r in listed] == ["theirs"]


def test_a_tenant_deleted_elsewhere_starts_afresh_with_the_start_clock_and_no_rules(two):
    client_one, client_two = (app.test_client() for app in two)
    assert client_one.post("/t/acme/_admin/faults", json=RULE).status_code == 201
    assert client_one.post("/t/acme/_admin/clock", json={"advance_sec": 86_400}).status_code == 200
    assert client_two.delete("/_admin/tenants/acme").status_code == 204
    assert list_status(client_one, "/t/acme") == 200
    assert client_one.get("/t/acme/_admin/faults").get_json()["faults"] == []
    assert client_one.get("/t/acme/_admin/clock").get_json()["now_sec"] == FROZEN_AT


def test_the_journal_through_either_server_holds_both_servers_exchanges_in_order(two):
    clients = [app.test_client() for app in two]
    for n in range(6):
        assert clients[n % 2].post("/v3/ListBookings", json={"user_id": f"u{n}"}).status_code == 200
    for client in clients:
        listed = client.get("/_admin/recordings").get_json()
        assert (listed["recorded"], listed["matched"]) == (6, 6)
        assert [e["seq"] for e in listed["exchanges"]] == [6, 5, 4, 3, 2, 1]
        assert [e["request"]["body"]["user_id"] for e in listed["exchanges"]] == [f"u{n}" for n in range(5, -1, -1)]
        exported = [orjson.loads(line) for line in client.get("/_admin/recordings/export").data.splitlines()]
        assert [(e["seq"], e["request"]["body"]["user_id"]) for e in exported] == [(n + 1, f"u{n}") for n in range(6)]
        assert client.get("/_admin/recordings/4").get_json()["request"]["body"] == {"user_id": "u3"}
    assert clients[1].delete("/_admin/recordings").get_json()["cleared"] == 6
    assert clients[0].get("/_admin/recordings").get_json()["exchanges"] == []
    assert clients[0].post("/v3/ListBookings", json={"user_id": "again"}).status_code == 200
    assert [e["seq"] for e in clients[1].get("/_admin/recordings").get_json()["exchanges"]] == [1]


def test_a_reset_keeps_the_shared_journal_and_a_deletion_erases_it(two):
    client_one, client_two = (app.test_client() for app in two)
    assert client_one.post("/t/acme/v3/ListBookings", json={"user_id": "before"}).status_code == 200
    assert client_two.post("/t/acme/_admin/reset", json={}).status_code == 200
    listed = client_two.get("/t/acme/_admin/recordings").get_json()["exchanges"]
    assert [(e["seq"], e.get("marker")) for e in listed] == [(2, "reset"), (1, None)]  # the reset on server two
    assert client_two.delete("/_admin/tenants/acme").status_code == 204
    assert client_one.post("/t/acme/v3/ListBookings", json={"user_id": "after"}).status_code == 200
    after = client_one.get("/t/acme/_admin/recordings").get_json()
    assert [(e["seq"], e["request"]["body"]["user_id"]) for e in after["exchanges"]] == [(1, "after")]


def test_the_shared_journal_takes_a_line_this_servers_file_could_not(two, tmp_path):
    (tmp_path / "rec1").write_text("a file where the folder should be")  # server one cannot open its journal file
    clients = [app.test_client() for app in two]
    assert clients[0].post("/v3/ListBookings", json={"user_id": "u0"}).status_code == 200
    listed = clients[1].get("/_admin/recordings").get_json()
    assert [(e["seq"], e["request"]["body"]["user_id"]) for e in listed["exchanges"]] == [(1, "u0")]
    health = clients[0].get("/_admin/health").get_json()["recording"]
    assert (health["recorded"], health["dropped"], health["file"]["recorded"]) == (1, 0, 0)
    assert health["file"]["error"]


def test_a_seq_past_any_redis_can_give_is_not_found_and_the_listing_names_the_stream(two):
    client = two[0].test_client()
    assert client.get("/_admin/recordings/99999999999999999999").status_code == 404
    assert client.get("/_admin/recordings").get_json()["journal"].endswith(":{default}:journal")


def test_numbering_goes_on_from_the_stream_when_its_counter_was_evicted(two, redis_url):
    import redis

    clients = [app.test_client() for app in two]
    for n in range(3):
        assert clients[n % 2].post("/v3/ListBookings", json={"user_id": f"u{n}"}).status_code == 200
    keys = two[0].extensions[EXTENSION_KEY].shared_store[1]
    redis.Redis.from_url(redis_url).delete(f"{keys.prefix}:{{default}}:jseq")
    assert clients[1].post("/v3/ListBookings", json={"user_id": "u3"}).status_code == 200
    listed = clients[0].get("/_admin/recordings").get_json()
    assert [e["seq"] for e in listed["exchanges"]] == [4, 3, 2, 1]
    assert listed["recorded"] == 4


def test_a_server_that_loses_the_race_to_store_a_new_tenants_start_state_takes_on_the_winners(
    redis_url, tmp_path, monkeypatch
):
    """Two servers (MOCK_WORKERS) meeting a tenant nobody stored yet both store its start state: the second to write
    takes on the first's instead of failing to start (a granian worker died of this, and served no request)."""
    import redis

    prefix = fresh_prefix()

    def server(n: int):
        settings = {"clock": FROZEN_AT, "recordings_dir": str(tmp_path / f"rec{n}"), "store": redis_url}
        return create_app({**settings, "store_prefix": prefix}, environ={})

    watch, raced, staged = redis.client.Pipeline.watch, [], []

    def watch_then_lose_the_race(pipe, *names):
        answer = watch(pipe, *names)
        if not staged:  # the other server writes between this one's look at the generation and its own write
            staged.append(True)
            raced.append(server(2))
        return answer

    monkeypatch.setattr(redis.client.Pipeline, "watch", watch_then_lose_the_race)
    try:
        first = server(1)  # its start-up write is the one that loses
        assert raced, "the race was not staged"
        monkeypatch.undo()
        clients = [first.test_client(), raced[0].test_client()]
        assert [c.get("/_admin/health").status_code for c in clients] == [200, 200]
        booked = book(clients[0], find_slot(first.extensions[EXTENSION_KEY], vertical="classes", window=False))
        listed = [[b["booking_id"] for b in c.get("/_admin/bookings").get_json()["bookings"]] for c in clients]
        assert listed == [[booked["booking_id"]]] * 2
        assert first.extensions[EXTENSION_KEY].epoch == raced[0].extensions[EXTENSION_KEY].epoch
    finally:
        forget(redis_url, prefix)
