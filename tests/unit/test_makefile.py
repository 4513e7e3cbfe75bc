"""The Makefile: `make run` installs the runtime dependencies only; `make test` and `make lint` the test extra too."""

import re
import shutil
import subprocess

import pytest

from mock_server.config import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _pip_installs(target: str) -> list[str]:
    """The `pip install` lines `make TARGET` would run from scratch (-n: printed, not run; -B: nothing made yet)."""
    done = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line.split("pip install --quiet ", 1)[1] for line in done.stdout.splitlines() if "pip install" in line]


def test_make_run_installs_the_runtime_dependencies_only():
    assert _pip_installs("run") == ["--upgrade pip", "-e ."]


@pytest.mark.parametrize("target", ["test", "test-fast", "lint"])
def test_tests_and_lint_install_the_test_extra(target):
    assert _pip_installs(target) == ["--upgrade pip", '-e ".[test]"']


def test_the_quick_start_is_still_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\n\n(?:<!--[^\n]*-->\n)?```sh\n(.*?)```", readme, re.S).group(1)
    assert [line.split("#")[0].strip() for line in block.splitlines()] == ["make run", "make test"]
