"""Fault engine: matching, budgets, probability with a fixed seed, TTL on the sandbox clock, holds."""

from __future__ import annotations

import random
import threading

import pytest

from mock_server.domain.clock import SandboxClock
from mock_server.faults.engine import DuplicateRule, FaultEngine, RuleError
from mock_server.faults.rules import RuleSchema

NOW = 1_767_225_600


class Facts:
    """Request facts as the hooks would give them."""

    def __init__(self, valid: bool = True, **values):
        self.valid = valid
        self.values = {k: frozenset(v if isinstance(v, (list, set)) else [v]) for k, v in values.items()}
        self.admits_calls = 0

    def get(self, key):
        return self.values.get(key, frozenset())

    def admits(self, kind):
        self.admits_calls += 1
        return self.valid


def rule(**fields) -> dict:
    return RuleSchema().load(fields)


@pytest.fixture
def engine():
    return FaultEngine(max_hold_ms=30_000)


def fire(engine, method="CreateBooking", facts=None, rng=None, now=NOW):
    return engine.decide(method, facts or Facts(), rng or random.Random(1), now)


def test_no_rules_decides_nothing_and_draws_nothing(engine):
    rng = random.Random(7)
    state = rng.getstate()
    assert engine.decide("CreateBooking", Facts(), rng, NOW) is None
    assert rng.getstate() == state


def test_rule_fires_on_its_method_only(engine):
    engine.add(rule(method="CreateBooking", kind="slot_taken"), NOW)
    assert fire(engine, "BatchAvailabilityLookup") is None
    decision = fire(engine, "CreateBooking")
    assert (decision.outcome.rule_id, decision.outcome.kind, decision.delay) == ("f1", "slot_taken", None)


def test_a_request_to_a_method_no_rule_names_is_not_the_engines_concern(engine):
    assert not engine.concerns("BatchAvailabilityLookup")
    engine.add(rule(method="ListBookings", kind="http_error", status=503), NOW)
    assert engine.concerns("ListBookings") and not engine.concerns("BatchAvailabilityLookup")
    engine.add(rule(method="*", kind="slot_taken"), NOW)  # slot_taken means nothing to ListBookings
    assert engine.concerns("BatchAvailabilityLookup") and engine.concerns("ListBookings")
    engine.clear()
    engine.add(rule(method="ListBookings", kind="http_error", status=503, ttl_s=60), NOW)
    assert engine.concerns("BatchAvailabilityLookup")  # any request may retire an expired rule, as before


def test_star_rule_skips_methods_its_kind_does_not_apply_to(engine):
    engine.add(rule(method="*", kind="payment_required"), NOW)
    assert fire(engine, "GetBookingStatus") is None
    assert fire(engine, "UpdateBooking").outcome.kind == "payment_required"


@pytest.mark.parametrize("key", ["merchant_id", "service_id", "user_id", "booking_id"])
def test_match_on_each_key(engine, key):
    engine.add(rule(method="*", kind="http_error", status=503, match={key: "wanted"}), NOW)
    assert fire(engine, facts=Facts(**{key: "other"})) is None
    assert fire(engine, facts=Facts()) is None
    assert fire(engine, facts=Facts(**{key: ["other", "wanted"]})).outcome.params == {"status": 503}


def test_match_needs_every_key(engine):
    engine.add(rule(method="*", kind="timeout", match={"merchant_id": "m1", "user_id": "u1"}), NOW)
    assert fire(engine, facts=Facts(merchant_id="m1", user_id="u2")) is None
    assert fire(engine, facts=Facts(merchant_id="m1", user_id="u1")).outcome.kind == "timeout"


def test_business_failure_skips_an_invalid_request_without_using_the_rule(engine):
    engine.add(rule(method="CreateBooking", kind="slot_taken", times=1), NOW)
    assert fire(engine, facts=Facts(valid=False)) is None
    assert engine.rules(NOW)[0]["remaining"] == 1
    assert fire(engine).outcome.kind == "slot_taken"


def test_protocol_faults_do_not_validate_the_request(engine):
    engine.add(rule(method="CreateBooking", kind="http_error", status=500), NOW)
    facts = Facts(valid=False)
    assert fire(engine, facts=facts).outcome.kind == "http_error"
    assert facts.admits_calls == 0


def test_times_fires_on_the_next_n_calls_then_retires(engine):
    engine.add(rule(method="CreateBooking", kind="http_error", status=503, times=2), NOW)
    assert [fire(engine).outcome.seq for _ in range(2)] == [1, 2]
    assert fire(engine) is None
    assert engine.rules(NOW) == []
    retired = engine.retired()
    assert [(r["id"], r["fired"], r["remaining"], r["retired"]) for r in retired] == [("f1", 2, 0, "used_up")]


def test_listing_counts_fired_and_remaining(engine):
    engine.add(rule(method="*", kind="delay", delay_ms=1, times=3), NOW)
    engine.add(rule(method="*", kind="empty_response"), NOW)
    fire(engine)
    listed = {r["id"]: (r["fired"], r["remaining"]) for r in engine.rules(NOW)}
    assert listed == {"f1": (1, 2), "f2": (1, None)}


def test_first_matching_rule_wins_and_a_delay_stacks_with_it(engine):
    engine.add(rule(method="*", kind="delay", delay_ms=5), NOW)
    engine.add(rule(method="*", kind="delay", delay_ms=9), NOW)
    engine.add(rule(method="CreateBooking", kind="slot_taken"), NOW)
    engine.add(rule(method="*", kind="http_error", status=500), NOW)
    decision = fire(engine)
    assert (decision.delay.rule_id, decision.delay.params) == ("f1", {"delay_ms": 5})
    assert decision.outcome.rule_id == "f3"
    assert [e.rule_id for e in decision.effects] == ["f1", "f3"]


def _sequence(seed: int, calls: int = 200) -> list[bool]:
    engine = FaultEngine(max_hold_ms=30_000)
    engine.add(
        rule(method="CreateBooking", kind="booking_failure", cause="PAYMENT_ERROR_CARD_DECLINED", probability=0.3), NOW
    )
    rng = random.Random(seed)
    return [engine.decide("CreateBooking", Facts(), rng, NOW) is not None for _ in range(calls)]


def test_probability_gives_the_same_sequence_for_the_same_seed():
    first, second = _sequence(42), _sequence(42)
    assert first == second
    assert 30 <= sum(first) <= 90  # about 30% of 200
    assert _sequence(43) != first


def test_probability_draws_only_for_matching_requests(engine):
    engine.add(rule(method="CreateBooking", kind="timeout", probability=0.5, match={"merchant_id": "m1"}), NOW)
    rng = random.Random(3)
    state = rng.getstate()
    engine.decide("BatchAvailabilityLookup", Facts(merchant_id="m1"), rng, NOW)
    engine.decide("CreateBooking", Facts(merchant_id="m2"), rng, NOW)
    assert rng.getstate() == state


def test_probability_one_draws_nothing(engine):
    engine.add(rule(method="*", kind="timeout", probability=1), NOW)
    rng = random.Random(3)
    state = rng.getstate()
    fire(engine, rng=rng)
    assert rng.getstate() == state


def test_delay_range_is_drawn_from_the_seeded_rng():
    def delays(seed):
        engine = FaultEngine(max_hold_ms=30_000)
        engine.add(rule(method="BatchAvailabilityLookup", kind="delay", min_ms=1000, max_ms=2000), NOW)
        rng = random.Random(seed)
        return [engine.decide("BatchAvailabilityLookup", Facts(), rng, NOW).delay.params["delay_ms"] for _ in range(20)]

    first = delays(5)
    assert first == delays(5)
    assert all(1000 <= d <= 2000 for d in first) and len(set(first)) > 1


def test_ttl_expires_on_the_sandbox_clock(engine):
    clock = SandboxClock(frozen_at=NOW)
    engine.add(rule(method="*", kind="http_error", status=503, ttl_s=60), clock.now())
    assert engine.rules(clock.now())[0]["expires_at_sec"] == NOW + 60
    clock.advance(59)
    assert fire(engine, now=clock.now()) is not None
    clock.advance(1)
    assert fire(engine, now=clock.now()) is None
    assert engine.rules(clock.now()) == []
    assert engine.retired()[0]["retired"] == "expired"


def test_a_frozen_clock_never_expires_a_rule(engine):
    engine.add(rule(method="*", kind="timeout", ttl_s=1), NOW)
    assert all(fire(engine, now=NOW) is not None for _ in range(3))


def test_times_is_never_exceeded_under_concurrency(engine):
    engine.add(rule(method="CreateBooking", kind="slot_taken", times=5), NOW)
    fired = []
    start = threading.Barrier(16)

    def worker():
        rng = random.Random()
        start.wait()
        for _ in range(50):
            if engine.decide("CreateBooking", Facts(), rng, NOW) is not None:
                fired.append(1)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fired) == 5
    assert engine.retired()[0]["fired"] == 5


def test_a_hold_longer_than_the_cap_is_refused(engine):
    with pytest.raises(RuleError) as caught:
        engine.add(rule(method="*", kind="timeout", hold_ms=30_001), NOW)
    assert caught.value.errors == {"hold_ms": ["must be at most 30000 (MOCK_TIMEOUT_MS)"]}
    with pytest.raises(RuleError) as caught:
        engine.add(rule(method="*", kind="delay", min_ms=0, max_ms=40_000), NOW)
    assert list(caught.value.errors) == ["max_ms"]


def test_ids_are_generated_unless_given_and_never_reused(engine):
    engine.add(rule(id="f2", method="*", kind="timeout"), NOW)
    added = [engine.add(rule(method="*", kind="timeout"), NOW).id for _ in range(2)]
    assert added == ["f1", "f3"]
    with pytest.raises(DuplicateRule):
        engine.add(rule(id="f2", method="*", kind="timeout"), NOW)


def test_add_all_adds_all_or_none(engine):
    engine.add(rule(id="taken", method="*", kind="timeout"), NOW)
    with pytest.raises(DuplicateRule):
        engine.add_all([rule(method="*", kind="timeout"), rule(id="taken", method="*", kind="timeout")], NOW)
    assert [r["id"] for r in engine.rules(NOW)] == ["taken"]


def test_remove_clear_and_reset(engine):
    first = engine.add(rule(method="*", kind="timeout"), NOW)
    engine.add(rule(method="*", kind="timeout"), NOW)
    assert engine.remove("nope") is None
    assert engine.remove(first.id) is first
    assert engine.clear() == 1 and not engine.active
    engine.add(rule(method="*", kind="timeout", times=1), NOW)
    fire(engine)
    engine.reset()
    assert engine.retired() == [] and engine.add(rule(method="*", kind="timeout"), NOW).id == "f1"


def test_hold_is_capped_by_the_server_setting():
    engine = FaultEngine(max_hold_ms=1)
    assert engine.hold(600_000) is False  # returns after 1 ms, not 10 minutes


def test_stop_releases_a_held_request_at_once():
    engine = FaultEngine(max_hold_ms=600_000)
    released = []
    holder = threading.Thread(target=lambda: released.append(engine.hold(600_000)))
    holder.start()
    engine.stop()
    holder.join(timeout=10)
    assert not holder.is_alive() and released == [True]
    assert engine.hold(600_000) is True  # nothing is held once the server is stopping
