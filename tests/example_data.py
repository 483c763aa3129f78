"""Where the tests find real FHIR examples: tests/data/ in the repository, or a larger corpus named by a variable.

tests/data/ is a curated copy (see its README); PAYER_MIRROR_CORPUS, when set, names a folder of the same
layout (`<source>/<ResourceType>-<id>.json`) that the same tests read instead, such as the whole corpus
tests/data/ was cut from.
"""

import os
from pathlib import Path

import pytest

CORPUS_VARIABLE = "PAYER_MIRROR_CORPUS"
CURATED = Path(__file__).resolve().parent / "data"


def examples_root() -> Path:
    """The folder of sources the tests read: the one PAYER_MIRROR_CORPUS names, else tests/data/."""
    named = os.environ.get(CORPUS_VARIABLE)
    return Path(named).expanduser() if named else CURATED


def example_folder(source: str) -> Path:
    """One source's folder, e.g. `example_folder("carin-bb-2.0.0")`, which must hold examples."""
    folder = examples_root() / source
    if not any(folder.glob("*.json")):
        _missing(f"no examples in {folder}")
    return folder


def example_files() -> list[Path]:
    """Every example of every source, sorted by path."""
    files = sorted(examples_root().glob("*/*.json"))
    if not files:
        _missing(f"no examples in {examples_root()}")
    return files


def _missing(what: str) -> None:
    """Data a test needs is absent: skip on a developer's machine, fail in CI or when a corpus was named."""
    if os.environ.get(CORPUS_VARIABLE):
        pytest.fail(f"{what}: {CORPUS_VARIABLE} names a folder without it")
    if os.environ.get("CI"):
        pytest.fail(f"{what}: a clone must have tests/data/ (it is part of the repository)")
    pytest.skip(f"{what}: tests/data/ is incomplete in this checkout")
