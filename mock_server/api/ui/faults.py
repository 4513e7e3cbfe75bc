"""Faults page: active rules with their counters, the add-a-rule form, remove, clear, scenarios."""

from __future__ import annotations

from flask import abort, request

from ...faults import ENGINE_KEY, scenarios
from ...faults.engine import RuleError
from ...recording import markers
from ...runtime import get_runtime
from . import forms
from .blueprint import back, bp, extension, flash, fragment, render
from .security import csrf_token

DEFAULT_FORM = {"method": "CreateBooking", "kind": "slot_taken", "times": "1"}


def _engine():
    engine = extension(ENGINE_KEY)
    if engine is None:
        abort(404, description="fault injection is not installed in this server")
    return engine


def _page(values: dict, errors: dict, status: int = 200):
    engine = _engine()
    now = get_runtime().clock.now()
    return render(
        "ui_faults.html",
        status,
        page="faults",
        rules=engine.rules(now),
        retired=list(reversed(engine.retired()))[:20],
        scenarios=scenarios.available(),
        values=values,
        errors=errors,
        **forms.form_choices(),
    )


@bp.route("/faults", methods=["GET"])
def faults():
    """Active and retired rules, scenarios, and the form."""
    if request.args.get("fragment") == "rules":
        engine = _engine()
        return fragment("ui_fault_rules.html", rules=engine.rules(get_runtime().clock.now()), csrf_token=csrf_token())
    return _page(dict(DEFAULT_FORM), {})


@bp.route("/faults", methods=["POST"])
def add_fault():
    """Validate with the API's RuleSchema, add to the engine, or show the form again with the messages."""
    engine = _engine()
    values = {key: value for key, value in request.form.items() if key != "csrf_token"}
    data, errors = forms.validate(forms.rule_data(request.form))
    if data is not None:
        try:
            rule = engine.add(data, get_runtime().clock.now())
        except RuleError as exc:  # a hold over MOCK_TIMEOUT_MS, or an id already taken
            errors = forms.flatten(exc.errors)
        else:
            markers.mark(markers.FAULTS_ADDED, {"rules": [rule.describe()]}, "dashboard")
            flash(f"Rule {rule.id} added: {rule.kind} on {rule.method}.", "success")
            return back("dashboard.faults")
    return _page(values, errors, 400)


@bp.route("/faults/<rule_id>/delete", methods=["POST"])
def delete_fault(rule_id):
    """Remove one rule."""
    rule = _engine().remove(rule_id)
    if rule is None:
        flash(f"No active rule {rule_id} (it may have been used up or expired).", "error")
    else:
        markers.mark(markers.FAULT_REMOVED, {"rule_id": rule.id}, "dashboard")
        flash(f"Rule {rule.id} removed ({rule.kind} on {rule.method}, fired {rule.fired}×).", "success")
    return back("dashboard.faults")


@bp.route("/faults/clear", methods=["POST"])
def clear_faults():
    """Remove every rule."""
    removed = _engine().clear()
    markers.mark(markers.FAULTS_CLEARED, {"removed": removed}, "dashboard")
    flash(f"{removed} rule{'s' if removed != 1 else ''} removed.", "success")
    return back("dashboard.faults")


@bp.route("/scenarios/<name>/apply", methods=["POST"])
def apply_scenario(name):
    """Add a scenario's rules (all or none)."""
    try:
        description, rules = scenarios.load(_engine(), name, get_runtime().clock.now())
    except scenarios.ScenarioError as exc:
        flash(f"Scenario {name} not applied: {exc.message}", "error")
        return back("dashboard.faults")
    markers.mark(markers.FAULTS_ADDED, {"scenario": name, "rules": [r.describe() for r in rules]}, "dashboard")
    ids = ", ".join(rule.id for rule in rules) or "none"
    flash(f"Scenario {name} applied: rules {ids}.", "success")
    return back("dashboard.faults")
