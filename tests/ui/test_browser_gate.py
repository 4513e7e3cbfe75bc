"""When Chromium or Playwright is missing: skip on a developer's machine, fail under CI=true (no browser launched)."""

from __future__ import annotations

import sys

import pytest

from .conftest import MissingPiece, browser_verdict, in_ci, missing_browser_piece

CHROMIUM_GONE = MissingPiece(
    "no Chromium at /opt/none/chromium",
    "as root: apt-get install -y chromium",
    ".ci/run apt-get installs chromium only when run as root with apt-get",
)


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "tRuE"])
def test_ci_true_in_any_case_is_ci(value):
    assert in_ci({"CI": value}) is True


@pytest.mark.parametrize("environ", [{}, {"CI": ""}, {"CI": "false"}, {"CI": "1"}, {"CI": "yes"}, {"CIRCLE": "true"}])
def test_anything_else_is_a_developer_machine(environ):
    assert in_ci(environ) is False


@pytest.mark.parametrize("ci", [True, False])
def test_nothing_missing_runs(ci):
    assert browser_verdict(None, ci) == ("run", "")


def test_missing_in_ci_fails_naming_what_and_how_ci_installs_it():
    verdict, reason = browser_verdict(CHROMIUM_GONE, ci=True)
    assert verdict == "fail"
    assert reason == (
        "CI=true but no Chromium at /opt/none/chromium, so the browser tests cannot run "
        "(.ci/run apt-get installs chromium only when run as root with apt-get)"
    )


def test_missing_on_a_developer_machine_skips_with_the_local_fix():
    assert browser_verdict(CHROMIUM_GONE, ci=False) == (
        "skip",
        "no Chromium at /opt/none/chromium (as root: apt-get install -y chromium)",
    )


def test_no_playwright_is_named_first(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # makes the import raise ImportError
    missing = missing_browser_piece(str(tmp_path / "chromium"))
    assert missing is not None
    assert missing.what == "Python Playwright is not installed"
    assert "pip install -e '.[test]'" in missing.fix
    assert ".ci/run" in missing.ci_fix


def test_absent_or_unexecutable_chromium_is_named(tmp_path):
    pytest.importorskip("playwright.sync_api")
    absent = tmp_path / "absent"
    assert missing_browser_piece(str(absent)).what == f"no Chromium at {absent}"
    not_executable = tmp_path / "chromium"
    not_executable.write_text("#!/bin/sh\n")
    not_executable.chmod(0o644)
    assert missing_browser_piece(str(not_executable)).what == f"no Chromium at {not_executable}"
    assert missing_browser_piece("no-such-chromium-on-path").what == "no Chromium at no-such-chromium-on-path"
    assert "apt-get install" in missing_browser_piece(str(absent)).ci_fix


def test_an_executable_chromium_and_playwright_are_enough(tmp_path):
    pytest.importorskip("playwright.sync_api")
    chromium = tmp_path / "chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o755)
    assert missing_browser_piece(str(chromium)) is None


def test_every_reason_is_one_line():
    for missing in (missing_browser_piece("/nonexistent/chromium"), CHROMIUM_GONE):
        for ci in (True, False):
            _, reason = browser_verdict(missing, ci)
            assert "\n" not in reason and reason
