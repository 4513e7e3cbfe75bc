"""A broken fixture file is refused with one message naming the file and the table, document or key at fault."""

import json

import pytest

from mock_server.config import ROOT
from mock_server.storage import fixtures

NOW = 1767225600


def _default() -> dict:
    return json.loads((ROOT / "fixtures" / "default.json").read_text(encoding="utf-8"))


def _load(tmp_path, document) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    fixtures.materialise(fixtures.read(path), NOW)


def _broken(change):
    document = _default()
    change(document)
    return document


CASES = [
    ({"slots": 5}, "table 'slots': must be an object {\"1\": {...}, ...}, not a number"),
    ([1, 2], "the document: must be a JSON object of tables ('meta', 'merchants', 'services', 'slots'), not an array"),
    ({"slots": {"1": 5}}, "slots['1']: must be an object, not a number"),
    ({"merchants": {"one": {}}}, "table 'merchants': key 'one' is not a document number"),
    (
        _broken(lambda d: d["merchants"]["2"].pop("timezone")),
        "merchants: timezone: missing key 'timezone'",
    ),
    (
        _broken(lambda d: d["services"]["3"].pop("name")),
        "services: document 3 in number order: missing 1 required positional argument: 'name'",
    ),
    (
        _broken(lambda d: d["slots"]["5"].update(local_time=900)),
        "slots: document 5 in number order (merchant_id 'dining-001', service_id 'dinner'): "
        "AttributeError: 'int' object has no attribute 'split'",
    ),
    (
        _broken(lambda d: d["slots"]["7"].update(merchant_id="nobody")),
        "slots: document 7 in number order (merchant_id 'nobody', service_id 'dinner'): "
        "ValueError: merchant_id 'nobody' is not one of the fixture's merchants",
    ),
    (
        _broken(lambda d: d["slots"]["7"].pop("merchant_id")),
        "slots: document 7 in number order (merchant_id None, service_id 'dinner'): missing key 'merchant_id'",
    ),
]


@pytest.mark.parametrize(("document", "message"), CASES)
def test_a_broken_fixture_names_the_file_and_the_place(tmp_path, document, message):
    with pytest.raises(fixtures.FixtureError) as refused:
        _load(tmp_path, document)
    assert str(refused.value) == f"fixture {tmp_path / 'broken.json'}: {message}"


def test_the_default_fixture_still_loads(tmp_path):
    _load(tmp_path, _default())
