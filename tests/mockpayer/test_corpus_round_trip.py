"""Every resource of the real examples, loaded into a plan, comes back from the API JSON-equal to its file.

Bundles are loaded entry by entry, with `urn:uuid` references resolved to `Type/id`; the expected form is
computed here independently, from the file, so the loader and the API are both checked.
"""

import json

import pytest
import requests

from mockpayer.app import create_app
from mirror.http.wsgi_server import start_in_thread
from tests.example_data import example_folder
from tests.mockpayer.corpus import write_plan

SOURCES = ["carin-bb-2.0.0", "us-core-6.1.0", "plan-net-1.1.0", "formulary-2.0.1", "formulary-1.0.1", "synthea-r4"]


def _expected_resources(path) -> dict:
    """(type, id) -> the resource as the API must serve it, later files winning."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if document["resourceType"] != "Bundle" or document.get("type") not in ("collection", "transaction", "searchset"):
        return {(document["resourceType"], document["id"]): document}
    urns = {}
    for entry in document.get("entry", []):
        resource = entry.get("resource")
        if resource and entry.get("fullUrl", "").startswith("urn:uuid:"):
            urns[entry["fullUrl"]] = f"{resource['resourceType']}/{resource.get('id') or entry['fullUrl'][9:]}"
    expected = {}
    for entry in document.get("entry", []):
        resource = entry.get("resource")
        if resource:
            resource = _resolve(resource, urns)
            resource.setdefault("id", entry["fullUrl"][9:])
            expected[(resource["resourceType"], resource["id"])] = resource
    return expected


def _resolve(node, urns):
    if isinstance(node, dict):
        return {key: _resolve(value, urns) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, urns) for item in node]
    return urns.get(node, node) if isinstance(node, str) else node


@pytest.mark.parametrize("source", SOURCES)
def test_every_corpus_resource_round_trips(tmp_path, source):
    files = sorted(example_folder(source).glob("*.json"))
    write_plan(tmp_path, "corpus", directory=files)
    expected, single_files = {}, {}
    for path in files:
        found = _expected_resources(path)
        expected.update(found)
        is_single = len(found) == 1 and json.loads(path.read_text(encoding="utf-8"))["resourceType"] != "Bundle"
        single_files.update(dict.fromkeys(found, path if is_single else None))
    server = start_in_thread(create_app(tmp_path))
    try:
        session = requests.Session()
        base = f"{server.url}/corpus/directory/r4"
        for (resource_type, resource_id), resource in expected.items():
            response = session.get(f"{base}/{resource_type}/{resource_id}", timeout=10)
            assert response.status_code == 200, (resource_type, resource_id, response.text[:200])
            assert response.json() == resource, (resource_type, resource_id)
            if single_files[(resource_type, resource_id)] is not None:  # a file of its own: served byte for byte
                assert response.content == single_files[(resource_type, resource_id)].read_bytes().strip()
    finally:
        server.stop()
