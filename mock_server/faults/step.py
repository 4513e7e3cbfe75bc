"""The fault steps of the /v3 pipeline: decide before the method runs, apply to its answer after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..domain.errors import NotFound
from ..v3.exchange import Exchange
from . import kinds, magic, preflight
from .engine import Decision, Effect, FaultEngine
from .rules import BUSINESS_KINDS, COMMIT_KINDS, MATCH_KEYS


@dataclass(slots=True)
class Plan:
    """What the check before the method decided, and whether a fault may still fire once the method commits."""

    facts: RequestFacts
    decision: Decision | None
    watch_commit: bool = False  # decide COMMIT_KINDS after the method (rules, or `on_commit`)
    on_commit: Effect | None = None  # a magic COMMIT_KINDS tag, applied only if the method commits


class FaultSteps:
    """decide_fault and apply_fault over one engine; `load` gives the exchange's loaded request (or raises)."""

    def __init__(self, engine: FaultEngine, runtime, load: Callable[[Exchange], object]):
        self.engine = engine
        self.runtime = runtime
        self.load = load

    def hold(self, exchange: Exchange, ms: int | None = None) -> int:
        """Hold the request (MOCK_TIMEOUT_MS by default and at most); the planned ms (stable in recordings)."""
        engine = self.engine
        planned = engine.max_hold_ms if ms is None else min(int(ms), engine.max_hold_ms)
        if engine.hold(planned):
            exchange.warn("the server is stopping: a held request was released early")
        return planned

    def decide(self, exchange: Exchange) -> None:
        """The fault for this exchange, from a magic value in the request or the armed rules; may answer it."""
        method = exchange.rpc
        if method is None or exchange.http_method == "OPTIONS":
            return  # CORS preflights and unrouted paths are never faulted
        engine = self.engine
        if not engine.active and magic.HEADER_KEY not in exchange.environ and method not in magic.EMAIL_METHODS:
            return  # no rule, and no carrier of a magic value: the everyday lookup stops here
        body = exchange.body if type(exchange.body) is dict else None
        try:
            found = magic.scan(method, exchange.environ, body, strict=True)
        except magic.MagicError as exc:
            exchange.fail(400, str(exc))
            return
        if found is None and not (engine.active and engine.concerns(method)):
            return  # the common case: no rule for this method, no magic value, nothing drawn
        runtime = self.runtime
        facts = RequestFacts(method, runtime, exchange, self.load)
        on_commit = None
        if found is not None:
            effects, warnings = found
            for warning in warnings:
                exchange.warn(warning)
            decision, on_commit = _magic_decision(effects, facts, exchange)
            watch_commit = on_commit is not None
        else:
            decision = engine.decide(method, facts, runtime.rng, runtime.clock.now())
            watch_commit = engine.watches_commits(method)
        watch_commit = watch_commit and (decision is None or decision.outcome is None)
        if watch_commit:
            facts.judge_now()
        if decision is None and not watch_commit:
            return
        exchange.state["fault_plan"] = Plan(facts, decision, watch_commit, on_commit)
        if decision is None:
            return
        for effect in decision.effects:
            exchange.faults.append({"id": effect.rule_id, "kind": effect.kind})
        if decision.delay is not None:
            self.hold(exchange, decision.delay.params["delay_ms"])
        outcome = decision.outcome
        if outcome is None or kinds.runs_view(outcome, method):
            return
        kinds.before_view(outcome, method, lambda ms=None: self.hold(exchange, ms), exchange, facts.token)

    def apply(self, exchange: Exchange) -> None:
        """Change or replace the method's answer as the decided (or the commit-time) fault says."""
        plan = exchange.state.get("fault_plan")
        if plan is None:
            return
        method = exchange.rpc or ""
        outcome = plan.decision.outcome if plan.decision is not None else None
        if outcome is None and plan.watch_commit:
            outcome = self._after_commit(plan, exchange)
            if outcome is not None:
                exchange.faults.append({"id": outcome.rule_id, "kind": outcome.kind})
        if outcome is None or not kinds.runs_view(outcome, method):
            return
        kinds.after_view(outcome, method, lambda ms=None: self.hold(exchange, ms), exchange)

    def _after_commit(self, plan: Plan, exchange: Exchange) -> Effect | None:
        """The COMMIT_KINDS fault for a method that has answered, if it committed a change (else nothing is spent)."""
        plan.facts.committed = _committed(exchange)
        if plan.on_commit is not None:
            why_not = plan.facts.why_not(plan.on_commit.kind)
            if why_not is None:
                return plan.on_commit
            exchange.warn(f"{plan.on_commit.kind} not applied: {why_not}")
            return None
        runtime = self.runtime
        return self.engine.decide_committed(exchange.rpc or "", plan.facts, runtime.rng, runtime.clock.now())


def _committed(exchange: Exchange) -> bool:
    """True when the method answered a booking it created or changed (200 with `booking`, not `booking_failure`), or
    a waitlist entry it created (`waitlist_entry_id`, not `waitlist_business_logic_failure`)."""
    payload = exchange.payload
    made = type(payload) is dict and ("booking" in payload or "waitlist_entry_id" in payload)
    return exchange.status == 200 and exchange.out is None and made


def _magic_decision(effects: list, facts: RequestFacts, exchange: Exchange) -> tuple[Decision | None, Effect | None]:
    """First delay and first outcome named by the request; a COMMIT_KINDS outcome is left for after the view."""
    delay = next((e for e in effects if e.kind == "delay"), None)
    outcome = on_commit = None
    for effect in effects:
        if effect.kind == "delay" or outcome is not None or on_commit is not None:
            continue
        if effect.kind in COMMIT_KINDS:
            on_commit = effect
        elif effect.kind not in BUSINESS_KINDS or facts.admits(effect.kind):
            outcome = effect
        else:
            exchange.warn(f"{_label(effect)} not applied: {facts.why_not(effect.kind)}")
    decision = None if delay is None and outcome is None else Decision(delay, outcome)
    return decision, on_commit


def _label(effect: Effect) -> str:
    cause = effect.params.get("cause")
    return f"{effect.kind} ({cause})" if cause else effect.kind


class RequestFacts:
    """What the engine may ask about the current request, each computed once and only when asked."""

    def __init__(self, method: str, runtime, exchange: Exchange, load: Callable[[Exchange], object]):
        self.method = method
        self._runtime = runtime
        self._exchange = exchange
        self._load = load
        self._body: dict | None = None
        self._values: dict | None = None
        self._standing: str | None = None
        self.committed: bool | None = None  # set after the view, for COMMIT_KINDS

    @property
    def body(self) -> dict:
        """The JSON request body ({} when it is not a JSON object)."""
        if self._body is None:
            body = self._exchange.body
            self._body = body if isinstance(body, dict) else {}
        return self._body

    @property
    def token(self) -> str:
        """The idempotency token, when the request has one."""
        return str(_field(self.body, "idempotency_token") or "")

    @property
    def standing(self) -> str:
        """preflight.INVALID, REPLAY or FRESH: what the server would make of this request before any fault."""
        if self._standing is None:
            self._standing = preflight.standing(self.method, lambda: self._load(self._exchange), self._runtime)
        return self._standing

    def judge_now(self) -> None:
        """Settle the standing before the view runs: once it has booked a token, a retry of it looks the same.

        A retry racing its own first attempt may still be judged FRESH; both then answer the same booking,
        so at worst a COMMIT_KINDS rule fires on the retry instead of on the first attempt.
        """
        _ = self.standing

    def get(self, key: str) -> frozenset:
        """Values of a match key found in the request (and in the stored booking it names)."""
        if self._values is None:
            self._values = _match_values(self.body, self._runtime.bookings)
        return self._values[key]

    def admits(self, kind: str) -> bool:
        """True when a fault of this GUARDED_KINDS kind keeps its contract on this request."""
        return self.why_not(kind) is None

    def why_not(self, kind: str) -> str | None:
        """Why a fault of this kind must leave this request alone; None when it may fire."""
        if kind in COMMIT_KINDS and not self.committed:
            return "nothing was committed"
        standing = self.standing
        if standing == preflight.INVALID:
            return "the request is invalid, so it keeps its error"
        if standing == preflight.REPLAY:
            if self.method == "CreateBooking":
                return "the idempotency_token already succeeded, so the original booking is answered"
            if self.method == "CreateWaitlistEntry":
                return "the idempotency_token already succeeded, so the original entry is answered"
            return "the update changes nothing, so the booking is answered as it stands"
        booking = _field(self.body, "booking")
        if (
            kind == "slot_taken"
            and self.method == "UpdateBooking"
            and (not _field(booking, "slot") or _field(booking, "status") == "CANCELED")
        ):
            return "only a move can find its slot taken"  # a cancellation never does
        return None


def _field(doc, name: str):
    """doc[name], also under its lowerCamelCase spelling (the API accepts both)."""
    if not isinstance(doc, dict):
        return None
    if name in doc:
        return doc[name]
    head, *rest = name.split("_")
    return doc.get(head + "".join(part.title() for part in rest))


def _match_values(body: dict, bookings) -> dict:
    """merchant_id, service_id, user_id and booking_id wherever the v3 requests carry them."""
    values: dict[str, set[str]] = {key: set() for key in MATCH_KEYS}

    def add(key: str, value) -> None:
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            values[key].add(str(value))

    slot, booking = _field(body, "slot"), _field(body, "booking")
    booking_slot = _field(booking, "slot")
    for doc in (body, slot, booking_slot):
        add("merchant_id", _field(doc, "merchant_id"))
    slot_times = _field(body, "slot_time")
    for doc in (body, slot, booking_slot, *(slot_times if isinstance(slot_times, list) else ())):
        add("service_id", _field(doc, "service_id"))  # the waitlist methods name it in the body
    for doc in (body, _field(body, "user_information"), _field(booking, "user_information")):
        add("user_id", _field(doc, "user_id"))
    for doc in (body, booking):
        add("booking_id", _field(doc, "booking_id"))
    for booking_id in list(values["booking_id"]):
        try:
            stored = bookings.get(booking_id)
        except NotFound:
            continue
        add("merchant_id", stored.slot.merchant_id)
        add("service_id", stored.slot.service_id)
        add("user_id", stored.user.user_id)
    return {key: frozenset(found) for key, found in values.items()}
