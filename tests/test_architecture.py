"""ARCHITECTURE.md matches the code: every repository path it names in backticks exists, and every package of
`mirror` and `mockpayer` is on it, so the map cannot drift from the house without a test failing."""

import re
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
ARCHITECTURE = REPOSITORY / "ARCHITECTURE.md"
ROOTS = ("mirror/", "mockpayer/", "tests/", "bench/", "fixtures/")


def named_paths() -> set[str]:
    """The repository paths the page names: backticked spans that start at one of the top-level folders."""
    spans = re.findall(r"`([^`\s]+)`", ARCHITECTURE.read_text(encoding="utf-8"))
    return {span for span in spans if span.startswith(ROOTS)}


def exists(path: str) -> bool:
    """A placeholder such as `<system-id>` and a `*` stand for any name; a trailing slash names a folder."""
    pattern = re.sub(r"<[^>]+>", "*", path).rstrip("/")
    matches = list(REPOSITORY.glob(pattern)) if "*" in pattern else [REPOSITORY / pattern]
    return any(match.is_dir() if path.endswith("/") else match.is_file() for match in matches)


def test_every_path_the_page_names_exists():
    paths = named_paths()
    assert "mirror/store/database.py" in paths  # the page is read, so an empty set cannot pass for a clean one
    missing = sorted(path for path in paths if not exists(path))
    assert missing == [], f"ARCHITECTURE.md names paths that do not exist: {missing}"


def test_every_package_is_on_the_page():
    paths = named_paths()
    packages = sorted(f"{init.parent.relative_to(REPOSITORY).as_posix()}/"
                      for root in ("mirror", "mockpayer") for init in (REPOSITORY / root).rglob("__init__.py"))
    assert "mirror/fhir/" in packages
    unnamed = [package for package in packages if package not in paths]
    assert unnamed == [], f"packages ARCHITECTURE.md does not describe: {unnamed}"


def test_the_readme_points_to_the_page():
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    layout = readme.split("\n## Layout\n", 1)[1]
    assert "ARCHITECTURE.md" in layout
