"""The SMART JavaScript client (npm `fhirclient`, pinned in this folder's package.json and package-lock.json),
unmodified, installed from the npm registry once for the tests that run it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import needs_in_ci

HERE = Path(__file__).parent
PACKAGE = HERE / "node_modules" / "fhirclient"
# React Native's optional and peer packages of a dependency are not needed by the browser or node builds.
NPM_CI = ["ci", "--omit=optional", "--omit=peer", "--no-audit", "--no-fund"]


def _pinned_version() -> str:
    return json.loads((HERE / "package.json").read_text())["dependencies"]["fhirclient"]


def _installed_version() -> str | None:
    manifest = PACKAGE / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


@pytest.fixture(scope="session")
def fhirclient_js() -> Path:
    """The installed package's folder: `build/fhir-client.js` is its browser build, `lib/` its node build."""
    if _installed_version() != _pinned_version():
        npm = shutil.which("npm")
        if npm is None:
            needs_in_ci("Node.js and npm", "install them to run the SMART JavaScript client's tests")
        installed = subprocess.run([npm, *NPM_CI], cwd=HERE, capture_output=True, text=True, timeout=600)
        assert installed.returncode == 0, installed.stderr[-2000:]
    return PACKAGE


def claim_ids(mock_payer, member: str) -> list[str]:
    """The ids of every claim the member's token may read, from the mock's own records: what an app must see."""
    return sorted(key.split("/")[1] for key in mock_payer.records(member) if key.startswith("ExplanationOfBenefit/"))
