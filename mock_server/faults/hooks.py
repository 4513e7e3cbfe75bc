"""Flask glue: the fault check before every /v3 view and the fault applied to its answer."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from flask import Flask, Response, current_app, request
from flask_smorest import abort

from ..api.common import exchange_notes, note_warning
from ..domain.errors import NotFound
from ..runtime import get_runtime
from . import kinds, magic, preflight
from .engine import Decision, Effect, FaultEngine
from .rules import BUSINESS_KINDS, COMMIT_KINDS, MATCH_KEYS

ENGINE_KEY = "mock_server.faults"
PLAN_KEY = "mock_server.fault_plan"


def current_engine() -> FaultEngine:
    """The fault engine of the current app."""
    return current_app.extensions[ENGINE_KEY]


@dataclass(slots=True)
class Plan:
    """What the check before the view decided, and whether a fault may still fire once the view commits."""

    method: str
    facts: RequestFacts
    decision: Decision | None
    watch_commit: bool = False  # decide COMMIT_KINDS after the view (rules, or `on_commit`)
    on_commit: Effect | None = None  # a magic COMMIT_KINDS tag, applied only if the view commits


def install_hooks(app: Flask, blueprint_name: str, engine: FaultEngine) -> None:
    """Run the fault check after the blueprint's auth, and apply the fault to the view's answer."""

    def hold(ms: int | None = None) -> int:
        """Hold the request (MOCK_TIMEOUT_MS by default and at most); the planned ms (stable in recordings)."""
        planned = engine.max_hold_ms if ms is None else min(int(ms), engine.max_hold_ms)
        if engine.hold(planned):
            note_warning("the server is stopping: a held request was released early")
        return planned

    def before() -> Response | None:
        # One context lookup instead of one per attribute (`request` is a LocalProxy; Flask types it as Request).
        req = request._get_current_object()  # type: ignore[attr-defined]
        method = _method(req)
        if method is None:
            return None
        environ = req.environ
        body = req.get_data(cache=True) if method in magic.EMAIL_METHODS else None
        try:
            found = magic.scan(method, environ, body, strict=True)
        except magic.MagicError as exc:
            abort(400, message=str(exc))
        if found is None and not engine.active:
            return None  # the common case: no rule, no magic value, nothing parsed, nothing drawn
        runtime = get_runtime()
        facts = RequestFacts(method, runtime)
        on_commit = None
        if found is not None:
            effects, warnings = found
            for warning in warnings:
                note_warning(warning)
            decision, on_commit = _magic_decision(effects, facts)
            watch_commit = on_commit is not None
        else:
            decision = engine.decide(method, facts, runtime.rng, runtime.clock.now())
            watch_commit = engine.watches_commits(method)
        watch_commit = watch_commit and (decision is None or decision.outcome is None)
        if watch_commit:
            facts.judge_now()
        if decision is None and not watch_commit:
            return None
        environ[PLAN_KEY] = Plan(method, facts, decision, watch_commit, on_commit)
        if decision is None:
            return None
        notes = exchange_notes()
        for effect in decision.effects:
            notes["faults"].append({"id": effect.rule_id, "kind": effect.kind})
        if decision.delay is not None:
            hold(decision.delay.params["delay_ms"])
        outcome = decision.outcome
        if outcome is None or kinds.runs_view(outcome, method):
            return None
        if outcome.kind == "drop_connection":
            notes["no_response"] = "drop_connection"
        return kinds.before_view(outcome, method, hold, environ, facts.token)

    def after(response: Response) -> Response:
        plan = request.environ.get(PLAN_KEY)
        if plan is None:
            return response
        method = plan.method
        outcome = plan.decision.outcome if plan.decision is not None else None
        if outcome is None and plan.watch_commit:
            outcome = _after_commit(plan, response)
            if outcome is not None:
                exchange_notes()["faults"].append({"id": outcome.rule_id, "kind": outcome.kind})
        if outcome is None or not kinds.runs_view(outcome, method):
            return response
        if outcome.kind == "drop_connection":
            exchange_notes()["no_response"] = "drop_connection"
        return kinds.after_view(outcome, method, response, hold, request.environ)

    def _after_commit(plan: Plan, response: Response) -> Effect | None:
        """The COMMIT_KINDS fault for a view that has answered, if it committed a change (else nothing is spent)."""
        plan.facts.committed = _committed(response)
        if plan.on_commit is not None:
            why_not = plan.facts.why_not(plan.on_commit.kind)
            if why_not is None:
                return plan.on_commit
            note_warning(f"{plan.on_commit.kind} not applied: {why_not}")
            return None
        runtime = get_runtime()
        return engine.decide_committed(plan.method, plan.facts, runtime.rng, runtime.clock.now())

    app.before_request_funcs.setdefault(blueprint_name, []).append(before)
    app.after_request_funcs.setdefault(blueprint_name, []).append(after)


def _method(req) -> str | None:
    """The v3 method of this exchange; None for anything faults leave alone (CORS preflights too)."""
    rule = req.url_rule
    if rule is None or req.method == "OPTIONS":
        return None
    return rule.rule.rstrip("/").rsplit("/", 1)[-1]


def _committed(response: Response) -> bool:
    """True when the view answered a booking it created or changed (200 with `booking`, not `booking_failure`)."""
    if response.status_code != 200 or response.mimetype != "application/json" or response.is_streamed:
        return False
    try:
        body = orjson.loads(response.get_data())
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and "booking" in body


def _magic_decision(effects: list, facts: RequestFacts) -> tuple[Decision | None, Effect | None]:
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
            note_warning(f"{_label(effect)} not applied: {facts.why_not(effect.kind)}")
    decision = None if delay is None and outcome is None else Decision(delay, outcome)
    return decision, on_commit


def _label(effect: Effect) -> str:
    cause = effect.params.get("cause")
    return f"{effect.kind} ({cause})" if cause else effect.kind


class RequestFacts:
    """What the engine may ask about the current request, each computed once and only when asked."""

    def __init__(self, method: str, runtime):
        self.method = method
        self._runtime = runtime
        self._body: dict | None = None
        self._values: dict | None = None
        self._standing: str | None = None
        self.committed: bool | None = None  # set after the view, for COMMIT_KINDS

    @property
    def body(self) -> dict:
        """The JSON request body ({} when it is not a JSON object)."""
        if self._body is None:
            try:
                parsed = orjson.loads(request.get_data(cache=True) or b"null")
            except orjson.JSONDecodeError:
                parsed = None
            self._body = parsed if isinstance(parsed, dict) else {}
        return self._body

    @property
    def token(self) -> str:
        """The idempotency token, when the request has one."""
        return str(_field(self.body, "idempotency_token") or "")

    @property
    def standing(self) -> str:
        """preflight.INVALID, REPLAY or FRESH: what the server would make of this request before any fault."""
        if self._standing is None:
            self._standing = preflight.standing(self.method, request, self._runtime)
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
            return "the update changes nothing, so the booking is answered as it stands"
        booking = _field(self.body, "booking")
        if kind == "slot_taken" and self.method == "UpdateBooking" and (
                not _field(booking, "slot") or _field(booking, "status") == "CANCELED"):
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
    for doc in (slot, booking_slot, *(slot_times if isinstance(slot_times, list) else ())):
        add("service_id", _field(doc, "service_id"))
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
