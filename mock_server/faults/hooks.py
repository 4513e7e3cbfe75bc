"""Flask glue: the fault check before every /v3 view and the fault applied to its answer."""

from __future__ import annotations

import orjson
from flask import Flask, Response, current_app, request
from flask_smorest import abort
from marshmallow import ValidationError

from ..api.booking_v3 import schemas as v3
from ..api.common import exchange_notes, note_warning
from ..domain.errors import InvalidRequest, NotFound
from ..runtime import get_runtime
from . import kinds, magic
from .engine import Decision, FaultEngine
from .rules import BUSINESS_KINDS, MATCH_KEYS

ENGINE_KEY = "mock_server.faults"
DECISION_KEY = "mock_server.fault_decision"
# Request schemas the business-failure kinds validate with first, so an invalid request keeps its 400.
PREFLIGHT = {"CreateBooking": v3.CreateBookingRequestSchema, "UpdateBooking": v3.UpdateBookingRequestSchema,
             "BatchAvailabilityLookup": v3.BatchAvailabilityLookupRequestSchema,
             "CheckAvailability": v3.CheckAvailabilityRequestSchema}


def current_engine() -> FaultEngine:
    """The fault engine of the current app."""
    return current_app.extensions[ENGINE_KEY]


def install_hooks(app: Flask, blueprint_name: str, engine: FaultEngine) -> None:
    """Run the fault check after the blueprint's auth, and apply the fault to the view's answer."""

    def hold(ms: int | None = None) -> int:
        """Hold the request (MOCK_TIMEOUT_MS by default and at most); the planned ms (stable in recordings)."""
        planned = engine.max_hold_ms if ms is None else min(int(ms), engine.max_hold_ms)
        if engine.hold(planned):
            note_warning("the server is stopping: a held request was released early")
        return planned

    def before() -> Response | None:
        req = request._get_current_object()  # one context lookup instead of one per attribute
        method = _method(req)
        if method is None:
            return None
        environ = req.environ
        body = req.get_data(cache=True) if method in magic.EMAIL_METHODS else None
        try:
            found = magic.scan(method, environ, body)
        except magic.MagicError as exc:
            abort(400, message=str(exc))
        if found is None and not engine.active:
            return None  # the common case: no rule, no magic value, nothing parsed, nothing drawn
        runtime = get_runtime()
        facts = RequestFacts(method, runtime)
        if found is not None:
            effects, warnings = found
            for warning in warnings:
                note_warning(warning)
            decision = _magic_decision(effects, facts)
        else:
            decision = engine.decide(method, facts, runtime.rng, runtime.clock.now())
        if decision is None:
            return None
        environ[DECISION_KEY] = (method, decision)
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
        planned = request.environ.get(DECISION_KEY)
        if planned is None:
            return response
        method, decision = planned
        outcome = decision.outcome
        if outcome is None or not kinds.runs_view(outcome, method):
            return response
        if outcome.kind == "drop_connection":
            exchange_notes()["no_response"] = "drop_connection"
        return kinds.after_view(outcome, method, response, hold, request.environ)

    app.before_request_funcs.setdefault(blueprint_name, []).append(before)
    app.after_request_funcs.setdefault(blueprint_name, []).append(after)


def _method(req) -> str | None:
    """The v3 method of this exchange; None for anything faults leave alone (CORS preflights too)."""
    rule = req.url_rule
    if rule is None or req.method == "OPTIONS":
        return None
    return rule.rule.rstrip("/").rsplit("/", 1)[-1]


def _magic_decision(effects: list, facts: "RequestFacts") -> Decision | None:
    """First delay and first outcome named by the request (a business failure only on a valid request)."""
    delay = next((e for e in effects if e.kind == "delay"), None)
    outcome = next((e for e in effects if e.kind != "delay"
                    and (e.kind not in BUSINESS_KINDS or facts.admits(e.kind))), None)
    return None if delay is None and outcome is None else Decision(delay, outcome)


class RequestFacts:
    """What the engine may ask about the current request, each computed once and only when asked."""

    def __init__(self, method: str, runtime):
        self.method = method
        self._runtime = runtime
        self._body: dict | None = None
        self._values: dict | None = None
        self._valid: bool | None = None

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

    def get(self, key: str) -> frozenset:
        """Values of a match key found in the request (and in the stored booking it names)."""
        if self._values is None:
            self._values = _match_values(self.body, self._runtime.bookings)
        return self._values[key]

    def admits(self, kind: str) -> bool:
        """True when the server would accept the request, so a business failure may replace its answer."""
        if self._valid is None:
            self._valid = self._preflight()
        if kind == "slot_taken" and self.method == "UpdateBooking":
            # Only a move can find its slot taken; a cancellation never does.
            return self._valid and bool(_field(_field(self.body, "booking"), "slot"))
        return self._valid

    def _preflight(self) -> bool:
        schema = PREFLIGHT.get(self.method)
        if schema is None:
            return True
        if (request.mimetype and not request.is_json) or not self.body:
            return False
        try:
            data = schema().load(self.body)
            inventory = self._runtime.bookings.inventory
            if self.method == "BatchAvailabilityLookup":
                inventory.merchant(data["merchant_id"])
                for spec in data["specs"]:
                    inventory.service(data["merchant_id"], spec.service_id)
            elif self.method == "UpdateBooking":
                self._runtime.bookings.get(data["booking"]["booking_id"])
            else:
                inventory.service(data["slot"].merchant_id, data["slot"].service_id)
        except (ValidationError, InvalidRequest, NotFound):
            return False
        return True


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
    values = {key: set() for key in MATCH_KEYS}

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
