"""The README's examples work: its complete example test is one this suite runs (tests/qa/test_readme_example.py),
word for word, and its curl sign-ins (with an MFA code, and with a code read from the outbox) get a token from a
running mock."""

import json
import shutil
import subprocess
from pathlib import Path

from tests.conftest import needs_in_ci

REPOSITORY = Path(__file__).resolve().parent.parent


def test_the_readme_example_test_is_the_one_that_runs():
    example = (REPOSITORY / "tests" / "qa" / "test_readme_example.py").read_text(encoding="utf-8")
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    assert f"```python\n{example}```" in readme


def _sh_block_after(readme: str, marker: str) -> str:
    return readme.split(marker, 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]


def _run_against(mock_payer, script: str, tmp_path) -> dict:
    """Runs a README shell script as written but for the mock's port; its output is the token response."""
    if shutil.which("curl") is None:
        needs_in_ci("curl", "install it to run the README's curl example")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:9000", mock_payer.url)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_readme_curl_sign_in_works_against_a_running_mock(mock_payer, tmp_path):
    """The README's "curl alone" sign-in, run as written but for the mock's port: login, the MFA page, consent,
    exchange."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    script = _sh_block_after(readme, "The same with curl alone")
    assert "-d step=mfa" in script
    tokens = _run_against(mock_payer, script, tmp_path)
    assert tokens["patient"] == "demoplan-m2" and tokens["scope"] == "patient/*.read offline_access"


def test_the_readme_curl_sign_in_answers_the_email_page_from_the_outbox(mock_payer, tmp_path):
    """The same sign-in for the member who verifies by email, the MFA step swapped for the README's outbox lines."""
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    script = _sh_block_after(readme, "The same with curl alone")
    email_step = _sh_block_after(readme, "### Emailed sign-in codes")
    mfa_step = next(line for line in script.splitlines() if "-d step=mfa" in line)
    script = script.replace(mfa_step, email_step.strip()).replace("member2", "member3")
    tokens = _run_against(mock_payer, script, tmp_path)
    assert tokens["patient"] == "demoplan-m3"
