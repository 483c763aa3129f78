"""CMS's own Python SDK for Blue Button 2.0, unmodified, against the mock on a free loopback port.

`cms-bluebutton-sdk` 1.1.0 from the package index: its authorize URL, the mock's sign-in pages, its token exchange,
claims over several pages, Patient, Coverage and the profile, a refresh, and a read with the refreshed token.

The SDK pins `certifi` exactly, so it lives in a virtual environment of its own (in the user's cache folder,
made once), never in the project's dependencies; a machine that cannot reach the package index skips this test
with the reason, and CI, which must reach it, fails instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest
import requests

from mirror.http.mock_login import complete_mock_login
from tests.conftest import needs_in_ci
from tests.mockpayer.bluebutton.plan import BENEFICIARY, CONFIDENTIAL, MBI, SDK_CALLBACK, claim_ids

SDK = "cms-bluebutton-sdk"
SDK_VERSION = "1.1.0"
APP = Path(__file__).with_name("sdk_app.py")
PAGE_SIZE = 3
TIMEOUT = 120


def _cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "payer-mirror" / f"{SDK}-{SDK_VERSION}"


def _python(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _installed(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version({SDK!r}))"],
                           capture_output=True, text=True, timeout=60)
    return probe.returncode == 0 and probe.stdout.strip() == SDK_VERSION


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    """The Python of a virtual environment holding the SDK and nothing of this project."""
    folder = _cache_folder()
    python = _python(folder)
    if not _installed(python):
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
        install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                                  f"{SDK}=={SDK_VERSION}"], capture_output=True, text=True, timeout=600)
        if install.returncode != 0:
            reason = (install.stderr.strip().splitlines() or ["no message"])[-1]
            needs_in_ci(f"{SDK} {SDK_VERSION}", f"pip could not install it from the package index ({reason})")
    return python


def test_the_cms_sdk_runs_its_whole_flow_unmodified(bluebutton, sdk_python):
    settings = {"base_url": bluebutton.url, "client_id": CONFIDENTIAL[0], "client_secret": CONFIDENTIAL[1],
                "callback_url": SDK_CALLBACK, "page_size": PAGE_SIZE}
    app = subprocess.Popen([str(sdk_python), str(APP), json.dumps(settings)], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_plain_environment())
    try:
        authorize_url = json.loads(app.stdout.readline() or "{}").get("authorize_url")
        assert authorize_url, app.stderr.read()
        assert authorize_url.startswith(f"{bluebutton.url}/v2/o/authorize?")
        callback = complete_mock_login(requests.Session(), authorize_url, BENEFICIARY[0], BENEFICIARY[1])
        assert callback.startswith(SDK_CALLBACK + "?")
        output, errors = app.communicate(callback + "\n", timeout=TIMEOUT)
    finally:
        app.kill()
    assert app.returncode == 0, errors
    result = json.loads(output)

    assert result["token"] == {"scope": "patient/Patient.read patient/Coverage.read patient/ExplanationOfBenefit.read "
                                         "profile", "patient": BENEFICIARY[2], "expires_in": 36000,
                               "token_type": "Bearer"}
    pages = result["eob_pages"]
    assert [len(page) for page in pages] == [3, 3, 1]  # get_pages followed `next` to the end
    assert sorted(claim for page in pages for claim in page) == sorted(claim_ids())

    patient = result["patient"]
    assert patient["status"] == 200
    assert [entry["resource"]["id"] for entry in patient["body"]["entry"]] == [BENEFICIARY[2]]
    identifiers = patient["body"]["entry"][0]["resource"]["identifier"]
    assert {"system": "http://hl7.org/fhir/sid/us-mbi", "value": MBI} in [
        {key: identifier[key] for key in ("system", "value")} for identifier in identifiers]
    coverage = result["coverage"]
    assert coverage["status"] == 200 and coverage["body"]["total"] == 3
    assert result["profile"] == {"status": 200, "body": {**result["profile"]["body"], "sub": BENEFICIARY[2],
                                                          "patient": BENEFICIARY[2], "family_name": "Doe"}}

    assert result["refreshed"] == {"scope": result["token"]["scope"], "patient": BENEFICIARY[2],
                                   "new_access_token": True, "new_refresh_token": True}
    after = result["after_refresh"]
    assert after["status"] == 200 and after["body"]["total"] == len(claim_ids())


def _plain_environment() -> dict:
    """The SDK's interpreter with nothing of this project on its path."""
    return {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONHOME")}
