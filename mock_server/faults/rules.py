"""Fault rules: the kinds, where each applies, the typed rule and its validation schema."""

from __future__ import annotations

from dataclasses import dataclass, field

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validates,
    validates_schema,
)
from marshmallow.validate import Length, OneOf, Range, Regexp

from ..domain import waitlist
from ..domain.models import CREDIT_CARD_TYPES, FAILURE_CAUSES
from ..v3.methods import METHODS as V3_METHODS

METHODS = tuple(V3_METHODS)  # the v3 methods the gateway serves, in its order
# What the sandbox sends out (notify/): only the kinds that name them apply there, never a "*" rule of another kind.
OUTBOUND_METHODS = ("BookingNotification",)
_CANONICAL_METHOD = {m.lower(): m for m in (*METHODS, *OUTBOUND_METHODS)}
BOOKING_METHODS = frozenset({"CreateBooking", "UpdateBooking"})  # the methods that answer booking_failure

# kind -> the methods it makes sense on (None: every method).
KINDS: dict[str, frozenset | None] = {
    "slot_taken": frozenset({"BatchAvailabilityLookup", "CheckAvailability", *BOOKING_METHODS}),
    "payment_required": BOOKING_METHODS,
    "booking_failure": BOOKING_METHODS,
    "waitlist_failure": frozenset({"CreateWaitlistEntry"}),
    "http_error": None,
    "delay": None,
    "timeout": None,
    "timeout_after_commit": BOOKING_METHODS | {"CreateWaitlistEntry"},  # the methods that make something
    "malformed_json": None,
    "empty_response": None,
    "drop_connection": None,
    # a booking notification's attempt fails as if the receiver answered `status` (500 by default), or timed out
    "notification_failure": frozenset(OUTBOUND_METHODS),
}
# Kinds that answer a business failure: they only fire on a request the server would go on to decide (valid, and
# not a replay of a token that succeeded); on any other request they neither fire nor spend.
BUSINESS_KINDS = frozenset({"slot_taken", "payment_required", "booking_failure", "waitlist_failure"})
# Kinds that lose the answer to a change that was made: decided after the view, only when it committed one.
COMMIT_KINDS = frozenset({"timeout_after_commit"})
# Kinds the engine fires only when the request's facts admit them: it asks before it draws or spends.
# Transport kinds (http_error, delay, timeout, broken answers, drop_connection) need no such check: a network
# fails the same on a first attempt, a retry, or a request the server would refuse.
GUARDED_KINDS = BUSINESS_KINDS | COMMIT_KINDS
# kind -> the parameters it takes (besides method, kind, match, times, probability, ttl_s, id), main one first.
PARAMS: dict[str, tuple] = {
    "slot_taken": ("description",),
    "payment_required": ("description",),
    "booking_failure": ("cause", "rejected_card_type", "description"),
    "waitlist_failure": ("cause", "description"),
    "http_error": ("status", "retry_after_s", "message"),
    "delay": ("delay_ms", "min_ms", "max_ms"),
    "timeout": ("hold_ms",),
    "timeout_after_commit": ("hold_ms",),
    "malformed_json": ("commit",),
    "empty_response": ("commit",),
    "drop_connection": ("commit",),
    "notification_failure": ("status", "timeout"),
}
ALL_PARAMS = frozenset(name for names in PARAMS.values() for name in names)
CAUSES = tuple(c for c in FAILURE_CAUSES if c != "CAUSE_UNSPECIFIED")
WAITLIST_CAUSES = tuple(c for c in waitlist.CAUSES if c != "CAUSE_UNSPECIFIED")
CARD_TYPES = tuple(c for c in CREDIT_CARD_TYPES if c != "CREDIT_CARD_TYPE_UNSPECIFIED")
# The v3 status table (§3.2) plus 502, which a proxy in front of a real server sends.
HTTP_STATUSES = (400, 401, 403, 404, 409, 429, 499, 500, 501, 502, 503, 504)
MATCH_KEYS = ("merchant_id", "service_id", "user_id", "booking_id")
MAX_HOLD_MS = 600_000  # absolute ceiling; the server's MOCK_TIMEOUT_MS is the effective one
# Bounds that keep every counter and time a rule shows inside int64 (the JSON encoder refuses more).
MAX_TIMES = 1_000_000_000
MAX_TTL_S = 10 * 365 * 86_400  # 10 years of sandbox time


def canonical_method(name: str) -> str | None:
    """'createbooking' -> 'CreateBooking'; '*' stays; unknown -> None."""
    if name == "*":
        return name
    return _CANONICAL_METHOD.get(str(name).lower())


def applies(kind: str, method: str) -> bool:
    """True when a fault of this kind means something on this v3 (or outbound) method."""
    methods = KINDS[kind]
    if methods is None:
        return method not in OUTBOUND_METHODS  # transport faults of /v3 answers say nothing of what goes out
    return method in methods


@dataclass(slots=True)
class Rule:
    """One fault rule and its counters; the engine changes `fired` under its lock."""

    id: str
    method: str  # a v3 method name or "*"
    kind: str
    params: dict = field(default_factory=dict)
    match: dict = field(default_factory=dict)
    times: int | None = None  # fire on the next N matching calls, then retire
    probability: float = 1.0
    ttl_s: int | None = None
    created_sec: int = 0
    source: str = "api"
    fired: int = 0

    @property
    def expires_at_sec(self) -> int | None:
        """Sandbox time at which the rule retires by itself."""
        return None if self.ttl_s is None else self.created_sec + self.ttl_s

    @property
    def remaining(self) -> int | None:
        """Uses left (None: unlimited)."""
        return None if self.times is None else max(self.times - self.fired, 0)

    def applies_to(self, method: str) -> bool:
        """True when this rule targets the method and its kind means something there."""
        return (self.method == "*" or self.method == method) and applies(self.kind, method)

    def describe(self) -> dict:
        """The rule as the admin API shows it."""
        return {
            "id": self.id,
            "method": self.method,
            "kind": self.kind,
            **self.params,
            "match": self.match,
            "times": self.times,
            "probability": self.probability,
            "ttl_s": self.ttl_s,
            "created_sec": self.created_sec,
            "expires_at_sec": self.expires_at_sec,
            "fired": self.fired,
            "remaining": self.remaining,
            "source": self.source,
        }


class MatchSchema(Schema):
    """Which requests a rule picks, by ids taken from the request body."""

    class Meta:
        unknown = RAISE

    merchant_id = fields.String(validate=Length(min=1))
    service_id = fields.String(validate=Length(min=1))
    user_id = fields.String(validate=Length(min=1))
    booking_id = fields.String(validate=Length(min=1))


def _ms(**kwargs):
    return fields.Integer(strict=True, validate=Range(min=0, max=MAX_HOLD_MS), **kwargs)


class RuleSchema(Schema):
    """A fault rule as POSTed to /_admin/faults or listed in a scenario file."""

    class Meta:
        unknown = RAISE

    id = fields.String(
        validate=Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", error="letters, digits, '.', '_' and '-' (at most 64)"),
        metadata={"description": "optional; generated (f1, f2, ...) when absent"},
    )
    method = fields.String(
        required=True,
        metadata={
            "description": "a v3 method name, BookingNotification (what the sandbox sends), or * for all",
            "enum": ["*", *METHODS, *OUTBOUND_METHODS],
            "example": "CreateBooking",
        },
    )
    kind = fields.String(required=True, validate=OneOf(tuple(KINDS)), metadata={"example": "slot_taken"})
    match = fields.Nested(MatchSchema, metadata={"example": {"merchant_id": "dining-001"}})
    times = fields.Integer(
        strict=True,
        validate=Range(min=1, max=MAX_TIMES),
        allow_none=True,
        metadata={"description": f"fire on the next N matching calls, then retire (at most {MAX_TIMES:,})"},
    )
    probability = fields.Float(validate=Range(min=0, max=1), metadata={"example": 0.3})
    ttl_s = fields.Integer(
        strict=True,
        allow_none=True,
        validate=Range(min=1, max=MAX_TTL_S, error="must be between {min} and {max} seconds (10 years)"),
        metadata={"description": f"retire after this many sandbox-clock seconds (at most {MAX_TTL_S:,}: 10 years)"},
    )
    # Kind parameters.
    cause = fields.String(
        validate=OneOf(CAUSES + WAITLIST_CAUSES),
        metadata={"example": "PAYMENT_ERROR_CARD_DECLINED", "description": "booking_failure's or waitlist_failure's"},
    )
    rejected_card_type = fields.String(validate=OneOf(CARD_TYPES))
    description = fields.String()
    status = fields.Integer(strict=True, validate=OneOf(HTTP_STATUSES), metadata={"example": 503})
    retry_after_s = fields.Integer(strict=True, validate=Range(min=0, max=86_400))
    message = fields.String()
    delay_ms = _ms(metadata={"example": 2000})
    min_ms = _ms()
    max_ms = _ms()
    hold_ms = _ms()
    commit = fields.Boolean(metadata={"description": "run the request before breaking its answer (default true)"})
    timeout = fields.Boolean(metadata={"description": "notification_failure: the attempt times out (no answer)"})

    @pre_load
    def _method_name(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("method"), str):
            canonical = canonical_method(data["method"])
            if canonical is not None:
                data = {**data, "method": canonical}
        return data

    @validates("method")
    def _known_method(self, value, **kwargs):
        # A field hook also keeps the API's compiled fast loader away: it does not enforce
        # unknown=RAISE, and a misspelt rule field must be a 400, not silently dropped.
        if value != "*" and value not in METHODS and value not in OUTBOUND_METHODS:
            known = ", ".join((*METHODS, *OUTBOUND_METHODS))
            raise ValidationError(f"unknown method {value!r}; use * or one of {known}")

    @validates_schema
    def _coherent(self, data, **kwargs):
        method, kind = data.get("method"), data["kind"]
        errors = {}
        for name in sorted(ALL_PARAMS & data.keys() - set(PARAMS[kind])):
            errors[name] = [f"not a parameter of kind {kind} (it takes: {', '.join(PARAMS[kind]) or 'none'})"]
        if method not in (None, "*") and not applies(kind, method):
            errors["kind"] = [f"{kind} does not apply to {method}; it applies to {_applies_to(kind)}"]
        errors.update(_kind_errors(kind, data))
        if errors:
            raise ValidationError(errors)


def _applies_to(kind: str) -> str:
    """The methods a kind applies to, as an error message names them."""
    methods = KINDS[kind]
    return "every v3 method (not what the sandbox sends)" if methods is None else ", ".join(sorted(methods))


def _kind_errors(kind: str, data: dict) -> dict:
    """Per-kind requirements the field validators cannot see."""
    if kind == "booking_failure":
        if "cause" not in data:
            return {"cause": [f"required for kind booking_failure; one of {', '.join(CAUSES)}"]}
        if "rejected_card_type" in data and data["cause"] != "PAYMENT_ERROR_CARD_TYPE_REJECTED":
            return {"rejected_card_type": ["only with cause PAYMENT_ERROR_CARD_TYPE_REJECTED"]}
    if kind == "waitlist_failure" and data.get("cause") not in WAITLIST_CAUSES:
        return {"cause": [f"required for kind waitlist_failure; one of {', '.join(WAITLIST_CAUSES)}"]}
    if kind == "booking_failure" and data["cause"] not in CAUSES:
        return {"cause": [f"not a booking_failure cause; one of {', '.join(CAUSES)}"]}
    if kind != "booking_failure" and kind != "waitlist_failure" and "cause" in data:
        return {"cause": [f"not a parameter of kind {kind}"]}
    if kind == "http_error":
        if "status" not in data:
            return {"status": [f"required for kind http_error; one of {', '.join(map(str, HTTP_STATUSES))}"]}
        if "retry_after_s" in data and data["status"] not in (429, 503):
            return {"retry_after_s": ["only with status 429 or 503"]}
    if kind == "notification_failure" and "status" in data and data.get("timeout"):
        return {"timeout": ["give status (an answer) or timeout (none), not both"]}
    if kind == "delay":
        ranged = "min_ms" in data or "max_ms" in data
        if ("delay_ms" in data) == ranged:
            return {"delay_ms": ["give delay_ms, or min_ms and max_ms"]}
        if ranged:
            if "min_ms" not in data or "max_ms" not in data:
                return {"min_ms" if "min_ms" not in data else "max_ms": ["give both min_ms and max_ms"]}
            if data["min_ms"] > data["max_ms"]:
                return {"max_ms": ["must be at least min_ms"]}
    return {}


def cap_errors(data: dict, max_hold_ms: int) -> dict:
    """Errors for any hold longer than the server allows (MOCK_TIMEOUT_MS)."""
    return {
        name: [f"must be at most {max_hold_ms} (MOCK_TIMEOUT_MS)"]
        for name in ("delay_ms", "max_ms", "hold_ms")
        if data.get(name, 0) > max_hold_ms
    }


def build_rule(data: dict, rule_id: str, now: int, source: str = "api") -> Rule:
    """A Rule from data that RuleSchema has loaded."""
    return Rule(
        id=rule_id,
        method=data["method"],
        kind=data["kind"],
        params={k: data[k] for k in PARAMS[data["kind"]] if k in data},
        match=dict(data.get("match") or {}),
        times=data.get("times"),
        probability=float(data.get("probability", 1.0)),
        ttl_s=data.get("ttl_s"),
        created_sec=now,
        source=source,
    )
