"""The real FHIR examples (tests/example_data.py), parsed, one source folder at a time."""

import json

import pytest

from tests.example_data import example_folder


@pytest.fixture(scope="session")
def corpus():
    """A function giving [(file name, resource dict)] for one source folder, e.g. `corpus("carin-bb-2.0.0")`."""

    def read(folder: str) -> list[tuple[str, dict]]:
        files = sorted(example_folder(folder).glob("*.json"))
        return [(path.name, json.loads(path.read_text(encoding="utf-8"))) for path in files]

    return read
