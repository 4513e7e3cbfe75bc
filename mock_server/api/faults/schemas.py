"""Fault admin schemas: the rule (shared with scenario files) and the answers, for the OpenAPI document."""

from marshmallow import Schema, fields

from ...faults.rules import RuleSchema

__all__ = [
    "RuleSchema",
    "RuleStateSchema",
    "RetiredRuleSchema",
    "FaultListSchema",
    "ScenarioSchema",
    "ScenarioListSchema",
    "ScenarioLoadedSchema",
]


class RuleStateSchema(Schema):
    """A rule as listed: what was asked plus its counters."""

    id = fields.String(metadata={"example": "f1"})
    method = fields.String(metadata={"example": "CreateBooking"})
    kind = fields.String(metadata={"example": "slot_taken"})
    match = fields.Dict()
    times = fields.Integer(allow_none=True)
    probability = fields.Float()
    ttl_s = fields.Integer(allow_none=True)
    created_sec = fields.Integer()
    expires_at_sec = fields.Integer(allow_none=True)
    fired = fields.Integer(metadata={"description": "how many exchanges it changed"})
    remaining = fields.Integer(allow_none=True, metadata={"description": "uses left; null means unlimited"})
    source = fields.String(metadata={"example": "api"})
    # The kind's parameters, listed flat with the rule (only those the rule has).
    cause = fields.String()
    rejected_card_type = fields.String()
    description = fields.String()
    status = fields.Integer()
    retry_after_s = fields.Integer()
    message = fields.String()
    delay_ms = fields.Integer()
    min_ms = fields.Integer()
    max_ms = fields.Integer()
    hold_ms = fields.Integer()
    commit = fields.Boolean()


class RetiredRuleSchema(RuleStateSchema):
    """A rule that no longer fires, and why."""

    retired = fields.String(metadata={"enum": ["used_up", "expired"]})


class FaultListSchema(Schema):
    """Active rules, and the last rules that retired (used up or expired)."""

    faults = fields.List(fields.Nested(RuleStateSchema))
    retired = fields.List(fields.Nested(RetiredRuleSchema))


class ScenarioSchema(Schema):
    """A scenario file."""

    name = fields.String(metadata={"example": "flaky_payments"})
    description = fields.String()
    rules = fields.Integer(metadata={"description": "how many rules it adds"})


class ScenarioListSchema(Schema):
    """Scenarios in fixtures/scenarios/."""

    scenarios = fields.List(fields.Nested(ScenarioSchema))


class ScenarioLoadedSchema(Schema):
    """A scenario's rules, now active."""

    scenario = fields.String()
    description = fields.String()
    faults = fields.List(fields.Nested(RuleStateSchema))
