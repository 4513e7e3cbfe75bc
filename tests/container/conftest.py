"""The image under test, built once per session from the repo's Dockerfile, and its figures in the test report."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.container.engine import BASE_IMAGE, IMAGE, LOCAL_BASE, ROOT, docker, require_engine

ARTIFACT = ROOT / "artifacts" / "container.json"
FIGURES: dict[str, object] = {}  # what the container tests measured, for the terminal summary and the artifact


def record_figures(**figures: object) -> None:
    """Keep measurements for the summary and merge them into artifacts/container.json."""
    FIGURES.update(figures)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    data.update(figures)
    ARTIFACT.write_text(json.dumps(data, indent=2) + "\n")


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the image's size, build time and time to healthy, so CI logs show them (no -s needed)."""
    if FIGURES:
        terminalreporter.section("container image")
        for key, value in FIGURES.items():
            terminalreporter.write_line(f"{key}: {value}")


@pytest.fixture(scope="session")
def sandbox_image() -> str:
    """The base imported (cached), then `docker build` of the Dockerfile; its size and build time recorded."""
    require_engine()
    if BASE_IMAGE == LOCAL_BASE:
        print(_run_base_script())
    previous = _image_id(IMAGE)
    started = time.monotonic()
    # The legacy builder (no buildx here) with the host's network: the engine runs without a bridge.
    docker(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE}",
        "-f",
        str(ROOT / "Dockerfile"),
        "-t",
        IMAGE,
        str(ROOT),
        timeout=1200,
    )
    build_s = round(time.monotonic() - started, 1)
    current = _image_id(IMAGE)
    if previous and previous != current:  # the old build is now untagged: don't let them pile up
        docker("image", "rm", previous)
    size = int(docker("image", "inspect", "--format", "{{.Size}}", IMAGE).strip())
    record_figures(
        image=IMAGE,
        base_image=BASE_IMAGE,
        build_seconds=build_s,
        image_size_bytes=size,
        image_size=f"{size / 1e6:.1f} MB",
    )
    return IMAGE


def _run_base_script() -> str:
    """tests/container/build_base.sh: bootstraps (cached) and imports localhost/py-base when the engine lacks it."""
    proc = subprocess.run(
        ["bash", str(ROOT / "tests" / "container" / "build_base.sh")],
        capture_output=True,
        text=True,
        timeout=1200,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, f"build_base.sh exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _image_id(name: str) -> str | None:
    """The id of a local image, or None when there is none."""
    out = docker("image", "ls", "--quiet", "--no-trunc", name).split()
    return out[0] if out else None
