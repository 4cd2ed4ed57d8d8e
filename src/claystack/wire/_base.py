"""The base of every wire model."""

from __future__ import annotations

from typing import Any, ClassVar, Self

import orjson
from pydantic import BaseModel, ConfigDict, PrivateAttr


def _required_on_the_wire(schema: dict[str, Any], cls: type[Any]) -> None:
    """Answers list every field, defaulted or not, unless the model names it omittable."""
    omittable = getattr(cls, "wire_omittable", ())
    if "required" in schema and omittable:
        schema["required"] = [name for name in schema["required"] if name not in omittable]


class WireModel(BaseModel):
    """A Clay wire shape. Unknown fields are kept (``extra="allow"``), so a newer server never
    breaks an older client; read them as attributes or through ``model_extra``.

    Defaults exist so that a client tolerates an older server; the OpenAPI document (and the
    test suite's response check) still requires every field of an answer except those in
    ``wire_omittable``."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        json_schema_serialization_defaults_required=True,
        json_schema_extra=_required_on_the_wire,
    )
    wire_omittable: ClassVar[tuple[str, ...]] = ()
    _wire_keys: tuple[str, ...] | None = PrivateAttr(default=None)

    @classmethod
    def build(cls, **values: Any) -> Self:
        """An answer the server assembled from its own stored data: not validated again
        (``model_construct``), and written by :func:`dumps` exactly as given: these keys, in
        this order, a ``None`` as ``null``. A value may be a plain dict where a nested model
        is declared: the server's fast path for bulk rows (a records page builds no model per
        row)."""
        model = cls.model_construct(**values)
        model.__pydantic_private__["_wire_keys"] = tuple(values)  # type: ignore[index]
        return model

    def wire_dict(self) -> dict[str, Any]:
        """The keys this model answers with and their values (nested models as they are)."""
        out: dict[str, Any] = _jsonable(self)
        return out

    # Dict-style reads: several nested shapes were plain dicts in the SDK before they were typed
    # (``report.filters["integrations"]``, ``action.pricing.get("credits")``); they still read so.
    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields or key in (self.model_extra or {}):
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        private = value.__pydantic_private__
        keys = private.get("_wire_keys") if private else None
        data, extra = value.__dict__, value.__pydantic_extra__ or {}
        if keys is None:  # validated (parsed) models: the fields that were given
            keys = (*(k for k in data if k in value.model_fields_set), *extra)
        return {k: data[k] if k in data else extra[k] for k in keys}
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> bytes:
    """JSON of an answer: wire models (see :meth:`WireModel.build`), dicts, lists, scalars.
    The server's one serialiser (``routes.JSONOut``)."""
    return orjson.dumps(value, default=_jsonable)
