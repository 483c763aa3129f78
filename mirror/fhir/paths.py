"""Fixed element paths through raw resource dicts: the one walker that search, compartment and _include rules use.

A path is a dotted string of element names written in this package (`item.servicedPeriod.start`), never one
taken from a request. Lists are flattened at every step, the way FHIRPath navigates, so the path above yields
the start of every item's period. Walking the raw dict, not a model, keeps matching cheap on the serve path.
"""

from collections.abc import Mapping


def values_at(resource: Mapping, path: str) -> list:
    """Every value at `path` inside `resource`, lists flattened; empty when any step is absent."""
    current: list = [resource]
    for name in path.split("."):
        found: list = []
        for node in current:
            if isinstance(node, Mapping):
                value = node.get(name)
                if isinstance(value, list):
                    found.extend(value)
                elif value is not None:
                    found.append(value)
        if not found:
            return found
        current = found
    return current
