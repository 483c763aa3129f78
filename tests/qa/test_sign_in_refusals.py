"""QA: refused sign-ins as one call each. `login` with a wrong answer gets the mock's real refusal, raised as
MockPayerError with the page's message and status, or the OAuth error of the redirect or error page; an emailed
code is answered from the outbox; `refresh` refreshes as the client that signed in."""

import pytest

from mockpayer.pytest_plugin import MockPayerError


def test_a_wrong_password_is_refused_on_the_login_page(mock_payer):
    with pytest.raises(MockPayerError, match="Wrong username or password.") as refused:
        mock_payer.login("member1", password="not-it")
    assert (refused.value.status, refused.value.error) == (401, None)


def test_a_wrong_mfa_code_is_refused_on_the_mfa_page(mock_payer):
    with pytest.raises(MockPayerError, match="at the mfa step: That code is not right.") as refused:
        mock_payer.login("member2", mfa="000000")
    assert refused.value.status == 401


def test_a_wrong_emailed_code_is_refused_on_the_email_page(mock_payer):
    with pytest.raises(MockPayerError, match="at the email step: That code is not right.") as refused:
        mock_payer.login("member3", email_code="not-a-code")
    assert refused.value.status == 401
    assert len(mock_payer.outbox("demoplan")) == 1  # the code was sent; the test answered it wrongly


def test_guessing_locks_the_sign_in_even_for_the_right_password_rfc6749_10_10(mock_payer):
    for guess in range(10):
        with pytest.raises(MockPayerError):
            mock_payer.login("member1", password=f"guess-{guess}")
    with pytest.raises(MockPayerError, match="Too many failed attempts to sign in.") as refused:
        mock_payer.login("member1")
    assert refused.value.status == 429


def test_denying_consent_is_access_denied_at_the_redirect_rfc6749_4_1_2_1(mock_payer):
    with pytest.raises(MockPayerError, match="access_denied") as refused:
        mock_payer.login("member1", decision="deny")
    assert refused.value.error == "access_denied"


def test_an_unregistered_redirect_uri_gets_the_error_page_not_a_redirect_rfc9700_4_1_3(mock_payer):
    with pytest.raises(MockPayerError, match="without a form") as refused:
        mock_payer.login("member1", redirect_uri="http://127.0.0.1/elsewhere")
    assert (refused.value.error, refused.value.status) == ("invalid_request", 400)


def test_an_unknown_client_gets_the_error_page_rfc6749_4_1_2_1(mock_payer):
    with pytest.raises(MockPayerError) as refused:
        mock_payer.login("member1", client="no-such-app")
    assert (refused.value.error, refused.value.status) == ("invalid_client", 400)


def test_another_registered_redirect_uri_signs_in(mock_payer):
    tokens = mock_payer.login("member1", redirect_uri="http://localhost/callback")
    assert tokens.patient == "demoplan-m1"


def test_a_decision_other_than_allow_or_deny_is_a_mistake_in_the_test(mock_payer):
    with pytest.raises(ValueError, match="decision must be 'allow' or 'deny'"):
        mock_payer.login("member1", decision="maybe")


def test_the_email_member_signs_in_with_the_code_from_the_outbox(mock_payer):
    member = mock_payer.plans["demoplan"].members["member3"]
    assert (member.verification, member.email) == ("email", "member3@example.org")
    tokens = mock_payer.login("member3")
    assert tokens.patient == "demoplan-m3"
    [message] = mock_payer.outbox("demoplan")
    assert message["to"] == "member3@example.org" and message["code"] in message["body"]
    assert mock_payer.outbox("smartplan") == []


def test_refresh_refreshes_as_the_public_client_that_signed_in_rfc6749_6(mock_payer):
    """RFC 6749 §6: a refresh token is bound to the client it was issued to; the public client has no secret."""
    tokens = mock_payer.login("member1", client="demo-public-app")
    assert tokens.client_id == "demo-public-app"
    refreshed = mock_payer.refresh(tokens)
    again = mock_payer.refresh(refreshed)
    assert again.patient == "demoplan-m1" and again.access_token != refreshed.access_token
    with pytest.raises(MockPayerError, match="token endpoint answered 400") as refused:
        mock_payer.refresh(again, client="demo-confidential-app")
    assert refused.value.error == "invalid_grant"
