"""FHIR R4 Bundles (https://hl7.org/fhir/R4/bundle.html) as plain dicts.

Building searchset and collection Bundles on the server side, splicing stored resource JSON into them, and reading
them on the client side.

Servers keep each resource as the exact JSON text the source sent (see DESIGN: raw JSON is the truth), so
`bundle_json` writes a Bundle around already-serialised resources without parsing them again: dates,
decimals and key order reach the client byte for byte.
"""

from collections.abc import Mapping, Sequence

import orjson

SEARCH_MODES = ("match", "include", "outcome")


def resource_url(base_url: str, resource_type: str, resource_id: str) -> str:
    """An entry's fullUrl: the absolute URL of the resource on this server."""
    return f"{base_url.rstrip('/')}/{resource_type}/{resource_id}"


def bundle_entry(full_url: str, resource: Mapping | None = None, *, mode: str | None = None) -> dict:
    """One Bundle.entry; leave `resource` out when its JSON text will be spliced in by `bundle_json`."""
    entry: dict = {"fullUrl": full_url}
    if resource is not None:
        entry["resource"] = resource
    if mode is not None:
        if mode not in SEARCH_MODES:
            raise ValueError(f"unknown search mode {mode!r}")
        entry["search"] = {"mode": mode}
    return entry


def searchset_bundle(entries: Sequence[dict], *, total: int | None, links: Sequence[dict]) -> dict:
    """A searchset Bundle. `total` (optional in R4) counts matches only, never included resources."""
    bundle: dict = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = list(links)  # always present: some clients (the Blue Button SDK) require the key
    bundle["entry"] = list(entries)
    return bundle


def collection_bundle(entries: Sequence[dict]) -> dict:
    """A collection Bundle (exports, `$everything`-style dumps)."""
    return {"resourceType": "Bundle", "type": "collection", "entry": list(entries)}


def bundle_json(envelope: Mapping, resources: Sequence[bytes | str]) -> bytes:
    """The JSON text of `envelope` with resources[i] spliced in as entry[i].resource, unparsed.

    The envelope is serialised with orjson; each resource must be one serialised JSON object (the checks
    here are cheap: a `{...}` shape, not a parse, since the store wrote that text itself).
    """
    head = {key: value for key, value in envelope.items() if key != "entry"}
    entries = envelope.get("entry", [])
    if len(entries) != len(resources):
        raise ValueError("one resource text is needed per entry")
    pieces: list[bytes] = []  # joined once: a page of large resources is copied a single time
    for index, (entry, resource) in enumerate(zip(entries, resources, strict=True)):
        if "resource" in entry:
            raise ValueError("entry already has a resource")
        text = resource.encode("utf-8") if isinstance(resource, str) else bytes(resource)
        text = text.strip()
        if not (text.startswith(b"{") and text.endswith(b"}")):
            raise ValueError("a resource text must be a JSON object")
        pieces += [b"," if index else b"", _opened(orjson.dumps(entry)), b'"resource":', text, b"}"]
    return b"".join([_opened(orjson.dumps(head)), b'"entry":[', *pieces, b"]}"])


def next_page_url(bundle: Mapping) -> str | None:
    """The `next` link of a searchset page, or None on the last page (client side: follow only this)."""
    return link_url(bundle, "next")


def link_url(bundle: Mapping, relation: str) -> str | None:
    """The URL of the Bundle's first link with this relation (`self`, `next`, ...), or None."""
    for link in bundle.get("link") or []:
        if isinstance(link, Mapping) and link.get("relation") == relation and isinstance(link.get("url"), str):
            return link["url"]
    return None


def entry_resources(bundle: Mapping) -> list[dict]:
    """Every entry's resource (matches and includes alike), skipping entries that carry none."""
    return [
        entry["resource"]
        for entry in bundle.get("entry") or []
        if isinstance(entry, Mapping) and isinstance(entry.get("resource"), dict)
    ]


def _opened(object_json: bytes) -> bytes:
    """Serialised JSON object text without its closing brace, ready for one more member."""
    return b"{" if object_json == b"{}" else object_json[:-1] + b","
