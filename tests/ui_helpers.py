"""The Dagster UI as a user meets it: its GraphQL API and its pages rendered in headless Chromium."""

import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed: run `make test` as root "
                                    "(it installs Debian's chromium and chromium-driver) or install them yourself")


def graphql(base: str, query: str, variables: dict | None = None) -> dict:
    """The `data` of one GraphQL request to the webserver at `base`; fails the test on GraphQL errors."""
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query, "variables": variables or {}}).encode(),
                                     headers={"Content-Type": "application/json"})
    body = json.load(urllib.request.urlopen(request, timeout=60))
    assert "errors" not in body, body.get("errors")
    return body["data"]


def browse(url: str, folder: Path, screenshot: str | None = None) -> str:
    """Render a page in headless Chromium (its profile in `folder`) and return the rendered DOM; with
    `screenshot`, save one under that name in `folder` too."""
    common = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'chrome-profile'}", "--virtual-time-budget=25000",
              "--window-size=2400,1500"]
    if screenshot is not None:
        subprocess.run([*common, f"--screenshot={folder / screenshot}", url], check=True, capture_output=True, timeout=120)
    return subprocess.run([*common, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120).stdout
