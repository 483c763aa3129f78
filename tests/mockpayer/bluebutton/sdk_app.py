"""An app written with CMS's Python SDK (cms-bluebutton-sdk 1.1.0, unmodified).

The SDK test runs it in the SDK's own virtual environment; the suite never imports it, and it imports nothing of
this project.

It is the app half of the flow; the test plays the beneficiary's browser. Given the mock's root URL and the app's
registration (argv[1], JSON), it prints the authorize URL (one JSON line), reads the callback URL the sign-in pages
redirected to (one line on stdin), then does what a Blue Button app does and prints what it got (one JSON line):
the code exchange, the claims page by page, Patient, Coverage and the profile, a refresh, and a read with the new
token. Tokens are never printed, only whether they changed.
"""

import json
import sys
from urllib.parse import parse_qs, urlsplit

from cms_bluebutton import BlueButton


def main() -> None:
    settings = json.loads(sys.argv[1])
    bb = BlueButton({"environment": "LOCAL", "client_id": settings["client_id"],
                     "client_secret": settings["client_secret"], "callback_url": settings["callback_url"],
                     "version": 2, "retry_settings": {"total": 0}})
    # The SDK's LOCAL environment is http://localhost:8000; the test's mock listens on a free port instead.
    bb.base_url = settings["base_url"]
    bb.auth_base_url = f"{bb.base_url}/v2/o/authorize"
    bb.auth_token_url = f"{bb.base_url}/v2/o/token/"

    auth_data = bb.generate_auth_data()
    _say({"authorize_url": bb.generate_authorize_url(auth_data)})
    callback = parse_qs(urlsplit(sys.stdin.readline().strip()).query)
    token = bb.get_authorization_token(auth_data, callback["code"][0], callback["state"][0])

    config = {"auth_token": token, "params": {"_count": settings["page_size"]}}
    first = bb.get_explaination_of_benefit_data(config)
    eob = bb.get_pages(first["response"].json(), config)
    plain = {"auth_token": token, "params": {}}
    patient, coverage, profile = bb.get_patient_data(plain), bb.get_coverage_data(plain), bb.get_profile_data(plain)

    refreshed = bb.refresh_auth_token(token)
    after = bb.get_explaination_of_benefit_data({"auth_token": refreshed, "params": {}})
    _say({
        "token": {"scope": token.scope, "patient": token.patient, "expires_in": token.expires_in,
                  "token_type": token.token_type},
        "eob_pages": [[entry["resource"]["id"] for entry in page.get("entry", [])] for page in eob["pages"]],
        "patient": _answer(patient),
        "coverage": _answer(coverage),
        "profile": _answer(profile),
        "refreshed": {"scope": refreshed.scope, "patient": refreshed.patient,
                      "new_access_token": refreshed.access_token != token.access_token,
                      "new_refresh_token": refreshed.refresh_token != token.refresh_token},
        "after_refresh": _answer(after),
    })


def _answer(result: dict) -> dict:
    response = result["response"]
    return {"status": response.status_code, "body": response.json()}


def _say(message: dict) -> None:
    print(json.dumps(message), flush=True)


if __name__ == "__main__":
    main()
