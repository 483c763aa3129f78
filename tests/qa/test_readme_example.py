# tests/test_my_app.py: nothing to import or register; installing payer-mirror brings the fixture.
import requests


def test_claims_through_a_rate_limit_an_expired_token_and_a_new_day(mock_payer):
    demo = mock_payer.plans["demoplan"]
    tokens = mock_payer.login("member1")  # the real pages (login, consent), PKCE, the code exchange
    claims = f"{demo.fhir_base}/ExplanationOfBenefit?patient={tokens.patient}"

    mock_payer.faults("demoplan", rate_limit={"every": 2, "retry_after": 1})
    statuses = [requests.get(claims, headers=tokens.headers, timeout=10).status_code for _ in range(2)]
    assert statuses == [200, 429]
    mock_payer.faults()  # no spec: every plan's faults cleared

    mock_payer.clock.advance(3601)  # an hour later, without sleeping: the access token has expired
    assert requests.get(claims, headers=tokens.headers, timeout=10).status_code == 401
    tokens = mock_payer.refresh(tokens)

    before = mock_payer.records("member1")  # {"Type/id": JSON text} the member can read now
    changes = mock_payer.advance_day("demoplan")["demoplan"]  # day 2: new, changed and removed claims
    after = mock_payer.records("member1")
    assert set(after) == (set(before) - set(changes["removed"])) | (set(changes["new"]) & set(after))
    assert requests.get(claims, headers=tokens.headers, timeout=10).json()["total"] == sum(
        key.startswith("ExplanationOfBenefit/") for key in after)
