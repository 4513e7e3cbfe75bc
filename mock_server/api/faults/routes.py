"""/_admin/faults and /_admin/scenarios: switch fault modes on and off at runtime."""

from __future__ import annotations

from flask_smorest import abort

from ...faults import current_engine, scenarios
from ...faults.engine import DuplicateRule, RuleError
from ...recording import markers
from ...runtime import get_runtime
from .. import auth
from ..common import json_response
from . import schemas

blp = auth.admin_blueprint(
    "Faults",
    __name__,
    "/_admin",
    "Fault rules for /v3 (slot taken, payment failures, HTTP errors, delays, timeouts, "
    "broken answers, dropped connections) and named scenarios of rules.",
)


@blp.route("/faults", methods=["GET"])
@blp.response(200, schemas.FaultListSchema)
def list_faults():
    """Active rules with how often each fired and how many uses remain, and recently retired rules."""
    engine = current_engine()
    return json_response({"faults": engine.rules(get_runtime().clock.now()), "retired": engine.retired()})


@blp.route("/faults", methods=["POST"])
@blp.arguments(schemas.RuleSchema, example={"method": "CreateBooking", "kind": "slot_taken", "times": 1})
@blp.response(201, schemas.RuleStateSchema, description="The rule, active from the next matching call")
@blp.alt_response(409, description="A rule with that id exists")
def add_fault(data):
    """Add a fault rule."""
    try:
        rule = current_engine().add(data, get_runtime().clock.now())
    except DuplicateRule as exc:
        abort(409, message=str(exc), errors={"json": exc.errors})
    except RuleError as exc:
        abort(400, message=f"invalid request: {exc}", errors={"json": exc.errors})
    markers.mark(markers.FAULTS_ADDED, {"rules": [rule.describe()]})
    return json_response(rule.describe(), 201, {"Location": f"/_admin/faults/{rule.id}"})


@blp.route("/faults", methods=["DELETE"])
@blp.response(200, description="How many rules were removed")
def clear_faults():
    """Remove every rule."""
    removed = current_engine().clear()
    markers.mark(markers.FAULTS_CLEARED, {"removed": removed})
    return json_response({"removed": removed})


@blp.route("/faults/<rule_id>", methods=["GET"])
@blp.response(200, schemas.RuleStateSchema)
@blp.alt_response(404, description="No such active rule")
def get_fault(rule_id):
    """One active rule."""
    for rule in current_engine().rules(get_runtime().clock.now()):
        if rule["id"] == rule_id:
            return json_response(rule)
    abort(404, message=f"no active fault rule {rule_id!r}")


@blp.route("/faults/<rule_id>", methods=["DELETE"])
@blp.response(200, schemas.RuleStateSchema, description="The rule that was removed")
@blp.alt_response(404, description="No such active rule")
def delete_fault(rule_id):
    """Remove one rule."""
    rule = current_engine().remove(rule_id)
    if rule is None:
        abort(404, message=f"no active fault rule {rule_id!r}")
    markers.mark(markers.FAULT_REMOVED, {"rule_id": rule.id})
    return json_response(rule.describe())


@blp.route("/scenarios", methods=["GET"])
@blp.response(200, schemas.ScenarioListSchema)
def list_scenarios():
    """Scenario files in fixtures/scenarios/, with their descriptions."""
    return json_response({"scenarios": scenarios.available()})


@blp.route("/scenarios/<name>", methods=["POST"])
@blp.response(201, schemas.ScenarioLoadedSchema, description="The scenario's rules, added to the active ones")
@blp.alt_response(400, description="A bad name, or a scenario file with invalid rules")
@blp.alt_response(404, description="No scenario of that name")
@blp.alt_response(409, description="A rule id in the scenario is taken")
def load_scenario(name):
    """Add a scenario's rules (all or none)."""
    try:
        description, rules = scenarios.load(current_engine(), name, get_runtime().clock.now())
    except scenarios.ScenarioError as exc:
        kwargs = {"errors": {"json": exc.errors}} if exc.errors else {}
        abort(exc.status, message=exc.message, **kwargs)
    markers.mark(markers.FAULTS_ADDED, {"scenario": name, "rules": [r.describe() for r in rules]})
    return json_response({"scenario": name, "description": description, "faults": [r.describe() for r in rules]}, 201)
