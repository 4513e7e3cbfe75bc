"""Schemathesis against the sandbox's own OpenAPI document: every operation, valid and invalid input.

Every answer must be a non-5xx whose status, content type and body match what /openapi.json
documents. Generation is derandomized (same examples every run) and bounded: examples, boundary
("coverage") cases and FUZZ_EXAMPLES random cases per operation and mode. State is reset between
operations, so an admin call (reset, clock, faults) in one operation cannot leak into the next.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from mock_server import create_app
from mock_server.runtime import EXTENSION_KEY

from .conftest import fresh_app

FUZZ_EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "60"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]

# The document is the same for every instance; requests go to the per-module app below.
schema = schemathesis.openapi.from_wsgi("/openapi.json", create_app({"record": 0}, environ={}))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=FUZZ_EXAMPLES,
    deterministic=True,
    database="none",
)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """The app under test: recording on, so the recorder sees every odd input too."""
    return fresh_app(tmp_path_factory.mktemp("fuzz"))


@pytest.fixture(scope="module")
def tally():
    """Answers by (operation, status), for the figures."""
    return Counter()


@pytest.fixture(autouse=True)
def _fresh_state(target, tally, figures):
    """Reset before each operation (bookings, clock, fault rules, replay) and record the counts after."""
    target.extensions[EXTENSION_KEY].reset()
    yield
    figures["fuzz examples run"] = sum(tally.values())
    figures["fuzz operations"] = len({op for op, _ in tally})
    figures["fuzz 5xx answers"] = sum(n for (_, status), n in tally.items() if status >= 500)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_operation_answers_as_documented(case, target, tally):
    response = case.call_and_validate(app=target, checks=CHECKS)
    tally[(case.operation.label, response.status_code)] += 1


def test_every_v3_and_admin_operation_is_fuzzed():
    documented = {op.ok().label for op in schema.get_all_operations()}
    routed = {f"{method} {rule.rule}" for rule in fresh_app_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}
    # The dashboard (/_admin/ui) is HTML for people, not part of the API document.
    wanted = {
        r
        for r in routed
        if r.split(" ")[1].startswith(("/v3/", "/_admin/")) and not r.split(" ")[1].startswith("/_admin/ui")
    }
    as_documented = {r.replace("<", "{").replace(">", "}").replace("{int:", "{") for r in wanted}
    assert as_documented <= documented, sorted(as_documented - documented)


def fresh_app_rules():
    return list(create_app({"record": 0}, environ={}).url_map.iter_rules())
