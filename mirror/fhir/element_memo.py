"""Elements already validated, reused when the same element comes again, so it is validated once.

fhir.resources validates an element by building its model, and a CARIN EOB has about 180 of them: that is
what makes validation cost milliseconds per resource. A member's records repeat most of theirs (the same
codings, references, adjudication categories and periods, claim after claim): in 650 generated EOBs, 15 %
of the elements are distinct. pydantic takes an already-built model instance of the right class as it is,
so an element seen before is handed over built, and only what is new is validated.

This is a shortcut to a "valid" answer only. Anything that does not pass it (an invalid element, a shape
it does not expect) is left to the whole-resource validation, which then gives the findings exactly as
before; tests compare the two over the shared corpus and over broken variants of it.
"""

from __future__ import annotations

import hashlib
import types
import typing
from functools import lru_cache

import orjson
from fhir.resources.R4B.resource import Resource
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase, FhirElementOrResourceBase

MOST_KEPT = 50_000  # built elements kept: about 1 KB each, with their parts


class ElementMemo:
    """Built (valid) elements by model class and canonical JSON text."""

    def __init__(self, most_kept: int = MOST_KEPT):
        self._most_kept = most_kept
        self._built: dict[tuple[type, bytes], FHIRAbstractModel] = {}  # (model, digest of canonical JSON)

    def __len__(self) -> int:
        return len(self._built)

    def accepts(self, model: type[FHIRAbstractModel], resource: dict) -> bool:
        """True when `model` accepts `resource`; False means "not shown valid here", not "invalid"."""
        try:
            text = _canonical(resource)
            if b"null" in text:
                return False  # maybe a NaN or an infinity, which orjson writes as null: the text is no key then
            self._build(model, resource, text)
        except Exception:  # noqa: BLE001 - any failure only means: ask the whole-resource validation
            return False
        return True

    def _build(self, model: type[FHIRAbstractModel], data: dict, text: bytes | None = None) -> FHIRAbstractModel:
        key = (model, _digest(text or _canonical(data)))
        built = self._built.get(key)
        if built is not None:
            return built
        parts = dict(data)
        fields = _element_fields(model)
        for name, value in data.items():
            if name not in fields:
                continue
            part_model, repeats = fields[name]
            if repeats and isinstance(value, list):
                parts[name] = [self._build(part_model, item) if isinstance(item, dict) else item for item in value]
            elif not repeats and isinstance(value, dict):
                parts[name] = self._build(part_model, value)
        built = model.model_validate(parts)
        if len(self._built) >= self._most_kept:
            self._built.clear()
        self._built[key] = built
        return built


def _canonical(data: dict) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _digest(text: bytes) -> bytes:
    """A key of 16 bytes rather than the text: a resource's own text is kilobytes, and collisions need 2**64 tries."""
    return hashlib.blake2b(text, digest_size=16).digest()


@lru_cache(maxsize=None)
def _element_fields(model: type[FHIRAbstractModel]) -> dict[str, tuple[type[FHIRAbstractModel], bool]]:
    """JSON name -> (model class, repeats) of each of `model`'s elements that is itself one model class.

    Resources nested in elements (`contained`, `Bundle.entry.resource`) are left out: their class depends
    on their own resourceType, not on the field. A memo of what the class declares, which never changes.
    """
    fields = {}
    for name, field in model.model_fields.items():
        declared, repeats = _declared_type(field.annotation)
        if (isinstance(declared, type) and issubclass(declared, FhirBase)
                and not issubclass(declared, FhirElementOrResourceBase)):
            part_model = declared.get_model_klass()
            if not issubclass(part_model, Resource):
                fields[field.alias or name] = (part_model, repeats)
    return fields


def _declared_type(annotation: object) -> tuple[object, bool]:
    """The one type an annotation names, through Optional and List, and whether it is a list."""
    repeats = False
    while True:
        arguments = [argument for argument in typing.get_args(annotation) if argument is not type(None)]
        origin = typing.get_origin(annotation)
        if origin is list and len(arguments) == 1:
            repeats, annotation = True, arguments[0]
        elif origin in (typing.Union, types.UnionType) and len(arguments) == 1:
            annotation = arguments[0]
        else:
            return annotation, repeats
