"""WB-4: tokens, codes, secrets and passwords never reach the server's log, even at DEBUG."""

import logging

from tests.mockpayer.driver import DEMO_CONFIDENTIAL


def test_no_secret_reaches_the_log(payer, caplog):
    caplog.set_level(logging.DEBUG)
    code = payer.code()
    tokens = payer.exchange(code).json()
    refreshed = payer.refresh(tokens["refresh_token"]).json()
    payer.introspect(refreshed["access_token"])
    payer.exchange(code)  # a replay, logged as an error case
    # The test's own HTTP client (urllib3) logs its request lines at DEBUG; only the server's records count here.
    logged = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("urllib3"))
    assert "POST /oauth2/token 200" in logged  # the access log is on, so the check below means something
    for secret in (code, tokens["access_token"], tokens["refresh_token"], refreshed["access_token"],
                   refreshed["refresh_token"], DEMO_CONFIDENTIAL[1], "pass-member1", "state-123"):
        assert secret not in logged
