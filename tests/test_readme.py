"""The README's complete example test is a test this suite runs (tests/qa/test_readme_example.py), word for word."""

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


def test_the_readme_example_test_is_the_one_that_runs():
    example = (REPOSITORY / "tests" / "qa" / "test_readme_example.py").read_text(encoding="utf-8")
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    assert f"```python\n{example}```" in readme
