"""The README's shell and Python snippets, run as written against a real server process.

Every ```sh and ```python block of README.md carries a marker in the HTML comment just above it:
`<!-- readme-test: GROUP [prelude] [reset] [status=400,503] -->` runs it, `<!-- readme-test: skip: WHY -->`
says why it cannot run here (docker, `make run`, a fixed port, a placeholder host). Blocks of one group run in
README order against one fresh server (`MOCK_CLOCK=1767225600`); a `prelude` block (shell functions) is run
before each later block of its group; `reset` resets the server first. Each curl call must answer 2xx or a
status the marker allows; a ```json block right after a snippet is its expected answer, and a comment line
`# {...}` after a curl call is that call's expected answer, compared as JSON.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.server import ROOT

pytestmark = pytest.mark.e2e

README = ROOT / "README.md"
CLOCK = "1767225600"
MARKER = re.compile(r"<!--\s*readme-test:\s*(.*?)\s*-->")
FENCE = re.compile(r"^```(\w*)\s*$")
RUNNABLE = ("sh", "python")
# curl reports each call's status on stderr, and keeps each call's body, so a block's answers can be checked.
CURL_WRAPPER = """
__n=0
curl() { __n=$((__n+1)); command curl -w '%{stderr}@@status %{http_code}\\n' "$@" | tee "$RWG_BODIES/$__n"; }
"""


@dataclass
class Block:
    """One fenced block of the README and what its marker says to do with it."""

    line: int
    lang: str
    text: str
    marker: str | None
    end: int = 0  # the index of the line after its closing fence
    answer: str | None = None  # the ```json block that follows it, if any

    @property
    def group(self) -> str:
        return (self.marker or "").split()[0] if self.marker else ""

    @property
    def skipped(self) -> bool:
        return bool(self.marker and self.marker.startswith("skip:"))

    @property
    def allowed_statuses(self) -> set[int]:
        for option in (self.marker or "").split()[1:]:
            if option.startswith("status="):
                return {int(code) for code in option.removeprefix("status=").split(",")}
        return set()

    def has(self, option: str) -> bool:
        return option in (self.marker or "").split()[1:]


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block with the marker of the comment right above it (blank lines between allowed)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        above = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.search(above)
        text = "\n".join(lines[i + 1 : end]) + "\n"
        block = Block(i + 1, opened.group(1), text, marker.group(1) if marker else None, end + 1)
        if block.lang == "json" and blocks and blocks[-1].lang in RUNNABLE and blocks[-1].end == i:
            blocks[-1].answer = text
        blocks.append(block)
        i = end + 1
    return blocks


BLOCKS = [b for b in readme_blocks(README.read_text(encoding="utf-8")) if b.lang in RUNNABLE]
GROUPS = sorted({b.group for b in BLOCKS if b.marker and not b.skipped})


def expected_comment_answers(block: Block) -> dict[int, object]:
    """`# {...}` comment lines that are whole JSON, by the number of the curl call they follow (1-based)."""
    expected: dict[int, object] = {}
    calls = 0
    lines = block.text.splitlines()
    for n, line in enumerate(lines):
        code, _, comment = line.partition("#") if not line.lstrip().startswith("#") else ("", "", line.lstrip()[1:])
        calls += len(re.findall(r"\bcurl\s", code))
        comment = comment.strip()
        if not comment.startswith(("{", "[")):
            continue
        if n and lines[n - 1].lstrip().startswith("#") and not code:
            continue  # the continuation of a comment above
        try:
            value, _ = json.JSONDecoder().raw_decode(comment)
        except json.JSONDecodeError:
            continue  # an abridged answer ("...") is prose, not a check
        expected[calls] = value
    return expected


def test_every_runnable_block_is_run_or_says_why_not():
    unmarked = [f"README.md:{b.line} ({b.lang})" for b in BLOCKS if not b.marker]
    assert unmarked == [], "mark each block `<!-- readme-test: GROUP -->` or `<!-- readme-test: skip: WHY -->`"
    assert all(b.marker.split(":", 1)[1].strip() for b in BLOCKS if b.skipped), "a skip names its reason"
    assert {"walkthrough", "recipes", "plugin"} <= set(GROUPS)


def _run_shell(block: Block, prelude: str, server, tmp_path: Path) -> tuple[list[int], dict[int, str], str]:
    bodies = tmp_path / f"bodies-{block.line}"
    bodies.mkdir()
    script = CURL_WRAPPER + prelude + block.text
    script = script.replace("localhost:8080", f"127.0.0.1:{server.port}")
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "RWG_BODIES": str(bodies),
        "HOME": str(tmp_path),
    }
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    statuses = [int(code) for code in re.findall(r"^@@status (\d+)$", done.stderr, re.M)]
    answers = {int(path.name): path.read_text() for path in bodies.iterdir()}
    return statuses, answers, done.stdout + done.stderr


def _run_python(block: Block, tmp_path: Path) -> None:
    """A plugin example is a test file: run it with pytest in a folder of its own, on the installed plugin."""
    (tmp_path / "test_readme_example.py").write_text(block.text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--rwg-clock={CLOCK}", "-W", "error"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"README.md:{block.line}\n{done.stdout}\n{done.stderr}"
    assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README's snippets call curl")
@pytest.mark.parametrize("group", GROUPS)
def test_readme_group_runs_as_written(group, start_server, tmp_path):
    server = None
    prelude = ""
    for block in [b for b in BLOCKS if b.group == group and not b.skipped]:
        if block.lang == "python":
            _run_python(block, tmp_path)
            continue
        server = server or start_server(MOCK_CLOCK=CLOCK)
        if block.has("reset"):
            assert server.post("/_admin/reset", {"recordings": True})[0] == 200
        statuses, answers, output = _run_shell(block, prelude, server, tmp_path)
        where = f"README.md:{block.line}\n{block.text}\n{output}"
        if block.has("prelude"):
            prelude += block.text  # functions only: it calls nothing itself
            continue
        assert statuses, where
        unexpected = [s for s in statuses if not 200 <= s < 300 and s not in block.allowed_statuses]
        assert unexpected == [], where
        if block.answer is not None:
            assert json.loads(answers[len(statuses)]) == json.loads(block.answer), where
        if not prelude:  # with prelude functions calling curl, a comment cannot be matched to its call by reading
            for call, expected in expected_comment_answers(block).items():
                assert json.loads(answers[call]) == expected, where
