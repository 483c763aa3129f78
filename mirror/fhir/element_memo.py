"""Elements already validated, so that what a member's records repeat is validated once.

fhir.resources validates an element by building its model, and a CARIN EOB has 70 to 280 of them: that is
what makes validation cost milliseconds per resource. A member's records repeat most of theirs (the same
codings, references, adjudication categories), and where they differ, they differ in primitive values (an
amount, a date, an id) inside elements of the same shape. So the memo keeps two things:

- elements seen before, by model class and JSON text: one seen again is valid as it is;
- for each shape (model class, keys in order, the shape of each child element, the type of each other
  value; the value itself for a key that is no field and for an element not given as an object, such as
  one given as JSON text), one element of that shape built by its model. A new element of a known shape
  is valid when each of its own primitive values passes its field's validator; nothing else the models
  check depends on the values (required elements, choice types `[x]`, nulls in lists and `resourceType`
  depend on the shape, and fhir.resources has no rule across two values), and pydantic takes an element of
  the right class as it is, so the built one of the child's shape stands in for the child when a parent is
  built. A value that passed its field's validator is not asked again.

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
from pydantic import TypeAdapter

MOST_KEPT = 100_000  # elements, values and shapes kept, each at most: with its key, an element is about 0.5 KB

SHORT_KEY = 256  # bytes of JSON text kept as its own key; longer ones are keyed by their digest
Shape = int  # a shape's number in this memo


class ElementMemo:
    """Valid elements by model class and JSON text, and one built element per valid shape.

    For one thread: two threads numbering new shapes at once could give two shapes one number, and one
    shape's built element would then stand in for the other's. Each validation worker has its own."""

    def __init__(self, most_kept: int = MOST_KEPT):
        self._most_kept = most_kept
        # (model, JSON text or its digest) -> (shape, its built element)
        self._seen = _RecentlyUsed(most_kept // 2)
        self._shapes: dict[tuple, Shape] = {}
        self._built: dict[Shape, FHIRAbstractModel] = {}
        self._valid_values = _RecentlyUsed(most_kept // 2)  # (validator, type, value) -> True

    def __len__(self) -> int:
        return len(self._seen) + len(self._shapes) + len(self._valid_values)

    def accepts(self, model: type[FHIRAbstractModel], resource: dict) -> bool:
        """True when `model` accepts `resource`; False means "not shown valid here", not "invalid"."""
        try:
            self._checked(model, resource, keyed=False)
        except Exception:  # noqa: BLE001 - any failure only means: ask the whole-resource validation
            return False
        finally:
            if len(self._shapes) > self._most_kept:  # shapes are few: this many means data unlike any member's
                ElementMemo.__init__(self, self._most_kept)
        return True

    def _checked(
        self, model: type[FHIRAbstractModel], data: dict, keyed: bool = True
    ) -> tuple[Shape, FHIRAbstractModel]:
        """The shape of a valid element, and the element built for that shape; raises when not shown valid.

        A whole resource is not `keyed` by its text: the sync validates each content once, so it would
        never be found again, and writing and hashing its text cost a tenth of validating it. A new
        element's own values are checked as they are met, before its shape is known: a value that fails its
        field's validator fails the element's model too, so the answer is the same, and the common case (a
        known shape) needs no second pass over them."""
        if keyed:
            text = orjson.dumps(data)
            key = (model, text if len(text) <= SHORT_KEY else hashlib.blake2b(text, digest_size=16).digest())
            seen = self._seen.get(key)
            if seen is not None:
                return seen
        fields = _fields(model)
        shape: list = [model]
        parts: list[tuple[str, object]] = []  # (name, the built element or elements standing in for the child)
        for name, value in data.items():
            field = fields.get(name)
            if type(field) is tuple:  # an element: (its model, whether it repeats)
                part_model, repeats = field
                if not repeats and type(value) is dict:
                    part_shape, part_built = self._checked(part_model, value)
                    shape.append((name, part_shape))
                    parts.append((name, part_built))
                    continue
                if repeats and type(value) is list and value and _all_objects(value):
                    checked = [self._checked(part_model, item) for item in value]
                    shape.append((name, tuple([part_shape for part_shape, _ in checked])))
                    parts.append((name, [built for _, built in checked]))
                    continue
            if field is None or type(field) is tuple:
                # No field (`resourceType`), or an element given otherwise (as JSON text, an empty list, a list
                # of other things): what the models make of it decides checks beyond its field (a required
                # value's `_value` extension must have extensions), so the value itself is the shape; one that
                # orjson writes with a null is left to the models, since a None, a NaN and an infinity all are.
                written = orjson.dumps(value)
                if b"null" in written:
                    raise ValueError("a None, a NaN or an infinity, which orjson writes alike, in the shape")
                shape.append((name, written))
            elif type(value) is list:
                shape.append((name, (list, tuple([item is None for item in value]))))
                field.validate_python(value)  # type: ignore[union-attr]  # a validator: not None, not a tuple
            else:
                shape.append((name, type(value)))
                self._check_value(field, value)  # type: ignore[arg-type]  # a validator: not None, not a tuple
        number = self._shapes.setdefault(tuple(shape), len(self._shapes))
        built = self._built.get(number)
        if built is None:
            built = self._built[number] = model.model_validate({**data, **dict(parts)})
        if keyed and b"null" not in text:
            # orjson writes None, NaN and the infinities alike as null, so a text with a null is no key; and as
            # no text kept has one, an element holding a NaN is never taken for one seen with a None.
            self._seen.put(key, (number, built))
        return number, built

    def _check_value(self, validator: TypeAdapter, value: object) -> None:
        """Raise unless `value` passes `validator`; values that passed before are not asked again."""
        key = (validator, type(value), value)  # the type too: True == 1 == 1.0
        if self._valid_values.get(key) is None:
            validator.validate_python(value)
            self._valid_values.put(key, True)


def _all_objects(items: list) -> bool:
    return all(type(item) is dict for item in items)


class _RecentlyUsed:
    """A memo of at most 2 x `size` entries that keeps the ones in use: a member's records repeat a few
    thousand elements and values (codings, providers, categories) among hundreds of thousands seen once.
    New entries go to the young generation; when it is full it becomes the old one, and the old one is
    dropped; an entry found in the old generation is moved back to the young one."""

    def __init__(self, size: int):
        self._size = max(1, size)
        self._young: dict = {}
        self._old: dict = {}

    def __len__(self) -> int:
        return len(self._young) + len(self._old)

    def get(self, key):
        found = self._young.get(key)
        if found is None:
            found = self._old.pop(key, None)
            if found is not None:
                self.put(key, found)
        return found

    def put(self, key, value) -> None:
        if len(self._young) >= self._size:
            self._old, self._young = self._young, {}
        self._young[key] = value


@lru_cache(maxsize=None)
def _fields(model: type[FHIRAbstractModel]) -> dict[str, tuple[type[FHIRAbstractModel], bool] | TypeAdapter]:
    """JSON name (alias and Python name alike, as the models take both) -> what the memo checks a value of
    that field by: (model class, repeats) for an element that is itself one model class, else a validator of
    the field's type alone (no R4B field carries constraints beyond its type, which a test checks).

    Resources nested in elements (`contained`, `Bundle.entry.resource`) are checked by their validator: their
    class depends on their own resourceType, not on the field. A memo of what the class declares, which
    never changes.
    """
    fields = {}
    for name, field in model.model_fields.items():
        declared, repeats = _declared_type(field.annotation)
        check: tuple | TypeAdapter = TypeAdapter(field.annotation)  # type: ignore[arg-type]  # every field is annotated
        if (isinstance(declared, type) and issubclass(declared, FhirBase)
                and not issubclass(declared, FhirElementOrResourceBase)):
            part_model = declared.get_model_klass()
            if not issubclass(part_model, Resource):
                check = (part_model, repeats)
        fields[name] = fields[field.alias or name] = check
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
