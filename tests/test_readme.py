"""The README's examples work: its complete example test is one this suite runs (tests/qa/test_readme_example.py),
word for word, and its curl sign-in gets a token from a running mock."""

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


def test_the_readme_curl_sign_in_works_against_a_running_mock(mock_payer, tmp_path):
    """The README's "curl alone" sign-in, run as written but for the mock's port: login, consent, exchange."""
    if shutil.which("curl") is None:
        needs_in_ci("curl", "install it to run the README's curl example")
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    script = readme.split("The same with curl alone", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    script = script.replace("http://127.0.0.1:9000", mock_payer.url)
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    tokens = json.loads(result.stdout)
    assert tokens["patient"] == "demoplan-m1" and tokens["scope"] == "patient/*.read offline_access"
