"""The base of every wire model."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


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
