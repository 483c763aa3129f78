"""The bundled `bluebutton` plan served alone, as `mockpayer serve --plan bluebutton` serves it, over real HTTP:
`excludeSAMHSA=true` leaves out its claims of substance use disorder treatment (42 CFR Part 2) and nothing else."""

import pytest

from mirror.http.wsgi_server import start_in_thread
from mockpayer.app import create_app
from mockpayer.bluebutton.samhsa import is_samhsa_related
from mockpayer.clock import Clock
from mockpayer.plans import BUNDLED_PLANS_DIR, load_plan
from tests.mockpayer.bluebutton.driver import BlueButtonDriver, entry_ids

BENEFICIARY = ("BBUser00001", "PW00001!", "-10000010000001")  # several years of claims, every type
CLIENT = ("bluebutton-confidential-app", "mock-bluebutton-secret-not-for-production")


@pytest.fixture(scope="module")
def bundled():
    clock = Clock()
    server = start_in_thread(create_app(plans={"bluebutton": load_plan(BUNDLED_PLANS_DIR / "bluebutton")},
                                        clock=clock))
    yield BlueButtonDriver(server.url, clock)
    server.stop()


def _claims(bundled, token: str, **params) -> list[dict]:
    return [entry["resource"] for page in bundled.pages("fhir/ExplanationOfBenefit/", token, _count=50, **params)
            for entry in page.get("entry", [])]


def test_exclude_samhsa_leaves_out_the_bundled_plans_substance_use_claims(bundled):
    """Blue Button's `excludeSAMHSA=true` on the bundled plan: the beneficiary's claims less exactly those that
    carry a substance use disorder diagnosis (ICD-10-CM F10-F19 but F17), of which it has some; any other value
    leaves them in."""
    token = bundled.tokens(member=BENEFICIARY, client=CLIENT)["access_token"]
    every = _claims(bundled, token)
    samhsa = {claim["id"] for claim in every if is_samhsa_related(claim)}
    assert samhsa and len(samhsa) < len(every)
    kept = _claims(bundled, token, excludeSAMHSA="true")
    assert {claim["id"] for claim in kept} == {claim["id"] for claim in every} - samhsa
    assert entry_ids(bundled.get("fhir/ExplanationOfBenefit/", token, excludeSAMHSA="false", _count=50).json()) == [
        claim["id"] for claim in every]
