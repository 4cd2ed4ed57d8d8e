"""Fields (columns), field groups and waterfalls."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

from .._base import M, Namespace, Op, api, req
from .._models import (
    Field,
)
from ._util import (
    _drop_none,
    _id,
    _q,
)


class Fields(Namespace[M]):
    """Columns: plain types, formulas and enrichment actions."""

    @api("GET /tables/{tableId}/fields")
    def list(self, table_id: str) -> Op[builtins.list[Field]]:
        """The columns of a table, in order."""
        data = yield req("GET", f"/tables/{_q(_id(table_id))}/fields")
        return [Field.model_validate(f) for f in data]

    @api("DELETE /tables/{tableId}/fields")
    def delete_many(self, table_id: str, field_ids: Iterable[str]) -> Op[None]:
        """Deletes several columns at once; columns reading them get a ``settingsError``."""
        body = {"fieldIds": builtins.list(field_ids)}
        yield req("DELETE", f"/tables/{_q(_id(table_id))}/fields", body)

    @api("POST /tables/{tableId}/fields/group")
    def group(self, table_id: str, field_ids: Iterable[str], name: str | None = None) -> Op[str]:
        """Groups columns; returns the group id (``gr_…``)."""
        body = _drop_none(fieldIds=builtins.list(field_ids), name=name)
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/fields/group", body)
        return str(data["groupId"])

    @api("POST /tables/{tableId}/fields/group/{groupId}")
    def update_group(
        self,
        table_id: str,
        group_id: str,
        members: Iterable[str | Mapping[str, Any]],
        *,
        name: str | None = None,
    ) -> Op[dict[str, Any]]:
        """Replaces a group's members (ids, or ``{"id", "isOutputField"}``) and renames it."""
        fields = [{"id": m} if isinstance(m, str) else dict(m) for m in members]
        body = _drop_none(name=name, fields=fields)
        path = f"/tables/{_q(_id(table_id))}/fields/group/{_q(group_id)}"
        return dict((yield req("POST", path, body)))

    @api("DELETE /tables/{tableId}/fields/group/{groupId}")
    def ungroup(self, table_id: str, group_id: str, *, delete_fields: bool = False) -> Op[None]:
        """Removes a group; with ``delete_fields=True`` its columns go too."""
        path = f"/tables/{_q(_id(table_id))}/fields/group/{_q(group_id)}"
        yield req("DELETE", path, {"deleteFields": delete_fields})

    @api("POST /tables/{tableId}/waterfall/v2")
    def create_waterfall(
        self,
        table_id: str,
        name: str,
        steps: Iterable[Mapping[str, Any]],
        *,
        group_name: str | None = None,
        hide_steps: bool = False,
        run_as_button: bool = False,
    ) -> Op[dict[str, Any]]:
        """A waterfall: one action column per step (``{actionKey, actionPackageId,
        inputsBinding, attributePath, name}``), an output column ``name`` taking the first
        non-empty result, and a group; returns ``{"fieldGroupMap": {gr_…: group}}``."""
        body = {
            "waterfallFieldName": name,
            "waterfallGroupName": group_name or name,
            "hideFromViews": hide_steps,
            "runAsButton": run_as_button,
            "waterfallConfigs": [dict(s) for s in steps],
        }
        return dict((yield req("POST", f"/tables/{_q(_id(table_id))}/waterfall/v2", body)))

    @api("POST /tables/{tableId}/fields")
    def create(
        self,
        table_id: str,
        name: str,
        type: str = "text",
        *,
        type_settings: dict[str, Any] | None = None,
    ) -> Op[Field]:
        """Adds a column of ``type`` (text, number, boolean, date, url, email, select,
        formula, action, …). A duplicate name raises ``ConflictError``."""
        body = _drop_none(name=name, type=type, typeSettings=type_settings)
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/fields", body)
        return Field.model_validate(data["field"])

    @api("POST /tables/{tableId}/fields")
    def create_formula(self, table_id: str, name: str, formula: str) -> Op[Field]:
        """Adds a formula column; ``formula`` refers to cells as ``{{f_…}}``."""
        body = {"name": name, "type": "formula", "typeSettings": {"formulaText": formula}}
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/fields", body)
        return Field.model_validate(data["field"])

    @api("POST /tables/{tableId}/fields")
    def create_action(
        self,
        table_id: str,
        name: str,
        action_key: str,
        inputs: Mapping[str, str],
        *,
        package_id: str | None = None,
        auth_account_id: str | None = None,
        run_condition: str | None = None,
    ) -> Op[Field]:
        """Adds an enrichment column running ``action_key`` (e.g. ``"http-api-v2"``) with
        each input bound to a formula (``{"url": "https://x.dev/{{f_abc}}"}``)."""
        settings = _drop_none(
            actionKey=action_key,
            actionPackageId=package_id or action_key,
            authAccountId=auth_account_id,
            conditionalRunFormulaText=run_condition,
        )
        settings["inputsBinding"] = [{"name": k, "formulaText": v} for k, v in inputs.items()]
        settings["dataTypeSettings"] = {"type": "json"}
        body = {"name": name, "type": "action", "typeSettings": settings}
        data = yield req("POST", f"/tables/{_q(_id(table_id))}/fields", body)
        return Field.model_validate(data["field"])

    @api("PATCH /tables/{tableId}/fields/{fieldId}")
    def update(
        self,
        table_id: str,
        field_id: str,
        *,
        name: str | None = None,
        type: str | None = None,
        type_settings: dict[str, Any] | None = None,
    ) -> Op[Field]:
        """Renames a column or changes its type or settings (settings merge)."""
        body = _drop_none(name=name, type=type, typeSettings=type_settings)
        data = yield req("PATCH", f"/tables/{_q(_id(table_id))}/fields/{_q(field_id)}", body)
        return Field.model_validate(data["field"])

    @api("DELETE /tables/{tableId}/fields/{fieldId}")
    def delete(self, table_id: str, field_id: str) -> Op[None]:
        """Deletes a column and its cells."""
        yield req("DELETE", f"/tables/{_q(_id(table_id))}/fields/{_q(field_id)}")
