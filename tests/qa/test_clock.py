"""QA: time on the mock moves when the test says so: codes, access tokens and refresh tokens expire without
sleeping, and the app under test recovers from an expired access token by itself."""

import pytest
import requests

from mockpayer.pytest_plugin import MockPayerError
from tests.qa.mirror_app import connect_demo, held, parsed, sync

HOUR, DAY = 3600, 24 * 3600


def read_patient(mock_payer, tokens) -> requests.Response:
    return requests.get(f"{mock_payer.plans['demoplan'].fhir_base}/Patient/{tokens.patient}", headers=tokens.headers,
                        timeout=10)


def test_a_code_expires_after_five_minutes(mock_payer):
    fresh = mock_payer.authorize("member1")
    assert mock_payer.exchange(fresh).access_token
    late = mock_payer.authorize("member1")
    mock_payer.clock.advance(301)  # demoplan's code_lifetime is 300 s
    with pytest.raises(MockPayerError, match="invalid_grant"):
        mock_payer.exchange(late)


def test_an_access_token_expires_after_its_lifetime_and_a_refresh_renews_it(mock_payer):
    tokens = mock_payer.login("member1")
    assert tokens.expires_in == HOUR
    mock_payer.clock.advance(HOUR - 10)
    assert read_patient(mock_payer, tokens).status_code == 200
    mock_payer.clock.advance(11)
    expired = read_patient(mock_payer, tokens)
    assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert read_patient(mock_payer, mock_payer.refresh(tokens)).status_code == 200


def test_a_refresh_token_expires_after_ninety_days(mock_payer):
    tokens = mock_payer.login("member1")
    mock_payer.clock.advance(90 * DAY + 1)
    with pytest.raises(MockPayerError, match="invalid_grant"):
        mock_payer.refresh(tokens)


def test_the_mirror_refreshes_an_access_token_that_expired_between_syncs(mock_payer, tmp_path):
    data_dir = tmp_path / "mirror"
    connect_demo(data_dir, mock_payer.url)
    mock_payer.clock.advance(2 * HOUR)
    status, report = sync(data_dir)
    assert status == 0 and not report["reconnect_needed"], report["errors"]
    assert held(data_dir) == parsed(mock_payer.records("member1"))
