"""Writes a plan folder's files and counts what they hold, for the one-line report of `mockpayer generate`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mockpayer.generate.bundles import BundleFile, indented

@dataclass
class Summary:
    """What a run wrote; `line()` is the one-line report `mockpayer generate` prints."""
    out_dir: Path
    members: int = 0
    files: int = 0
    bytes: int = 0
    resources: dict[str, int] = field(default_factory=dict)  # day 1's
    prior_authorizations: int = 0  # day 1's ExplanationOfBenefit resources with use = preauthorization
    days: int = 1

    def count(self, resource: dict) -> None:
        kind = resource["resourceType"]
        self.resources[kind] = self.resources.get(kind, 0) + 1
        self.prior_authorizations += resource.get("use") == "preauthorization"

    def line(self) -> str:
        eobs = self.resources.get("ExplanationOfBenefit", 0) - self.prior_authorizations
        total = sum(self.resources.values())
        later = f" (day 1; days 2-{self.days} in days/)" if self.days > 1 else ""
        return (f"wrote {self.out_dir}: {self.members} members, {eobs} claims, {self.prior_authorizations} prior "
                f"authorizations, {total} resources{later} in {self.files} files ({self.bytes / 1e6:.1f} MB)")


@dataclass
class PlanFiles:
    """Writes a plan folder's files and counts what they hold in the run's Summary."""
    out: Path
    summary: Summary

    def single(self, path: Path, resource: dict) -> None:
        self.raw(path, indented(resource))
        self.summary.count(resource)

    def raw(self, path: Path, content: bytes) -> None:
        path.write_bytes(content)
        self.summary.files += 1
        self.summary.bytes += len(content)

    def close(self, bundle: BundleFile) -> None:
        bundle.close()
        self.summary.files += 1
        self.summary.bytes += bundle.bytes

    def member_bundle(self, path: Path, bundle_id: str, moment: str) -> BundleFile:
        """A member's records: a `collection` Bundle streamed one entry per line."""
        return BundleFile(path, {"resourceType": "Bundle", "id": bundle_id, "meta": {"lastUpdated": moment},
                                 "type": "collection", "timestamp": moment})

    def add(self, bundle: BundleFile, fhir_base: str, resource: dict) -> None:
        bundle.add({"fullUrl": f"{fhir_base}/{resource['resourceType']}/{resource['id']}", "resource": resource})
        self.summary.count(resource)
