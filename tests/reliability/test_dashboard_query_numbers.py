"""Dashboard exchanges page: odd numbers in the query string are the default, never a 500 (issue 13 item 13).

`str.isdigit` takes "²" and "١٢٣", which int() refuses; int() also refuses more than 4,300 digits.
`limit` and `status` are filters (a problem is shown and the default used); `after` is the live feed's
cursor (anything but plain digits is 0, a number beyond the newest seq means "start again").
"""

from __future__ import annotations

import html
import re

import pytest

from .conftest import fresh_app

ODD = ["²", "١٢٣", "𝟗", "9" * 5000, "0" * 5000 + "7", "-1", "1e3", " 5 ", ""]
PAST_THE_END = {"9" * 5000, "0" * 5000 + "7", " 5 "}  # as cursors: beyond the newest seq (3)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    client = fresh_app(tmp_path_factory.mktemp("dash")).test_client()
    for _ in range(3):
        client.get("/v3/HealthCheck")
    return client


def shown(page) -> int:
    return page.get_data(as_text=True).count('<details class="exchange')


@pytest.mark.parametrize("value", ODD, ids=lambda v: repr(v) if len(v) < 9 else f"{v[-1]!r} x{len(v)}")
def test_limit_and_status_filters_take_odd_numbers(client, value):
    for name in ("limit", "status"):
        page = client.get("/_admin/ui/exchanges", query_string={name: value}, headers={"Accept": "text/html"})
        assert page.status_code == 200, (name, page.get_data()[:300])
        assert shown(page) == 3, name


@pytest.mark.parametrize("value", ODD, ids=lambda v: repr(v) if len(v) < 9 else f"{v[-1]!r} x{len(v)}")
def test_the_feed_takes_odd_limits_and_cursors(client, value):
    for name in ("limit", "after"):
        feed = client.get("/_admin/ui/exchanges/feed", query_string={name: value})
        assert feed.status_code == 200, (name, feed.get_data()[:300])
        body = feed.get_json()
        assert body["last_seq"] == 3 and body["recorded"] == 3
        # A cursor past the newest seq means the journal was emptied meanwhile: everything again, flagged.
        restarted = name == "after" and value in PAST_THE_END
        assert (body["count"], body["reset"]) == (3, restarted), (name, body)


def test_a_huge_limit_is_the_maximum_and_a_problem_is_shown_for_junk(client):
    assert errors(client, limit="9" * 5000) == [] and errors(client, limit="0" * 5000 + "7") == []
    assert errors(client, limit="²") == ["limit '²' ignored: give a number from 1 to 1000"]
    assert errors(client, status="²") == ["status '²' ignored: give an HTTP status such as 200 or 503"]
    assert errors(client, status="9" * 5000) == [
        (f"status '{'9' * 5000}' ignored: give an HTTP status such as 200 or 503")
    ]


def errors(client, **query) -> list[str]:
    """The problems the exchanges page shows for this query."""
    page = client.get("/_admin/ui/exchanges", query_string=query, headers={"Accept": "text/html"})
    assert page.status_code == 200 and shown(page) == 3
    return [html.unescape(p) for p in re.findall(r'<p class="error">(.*?)</p>', page.get_data(as_text=True))]
