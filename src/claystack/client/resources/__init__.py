"""The SDK's namespaces (``client.tables``, ``client.records`` …), one module per resource, as
openai-python lays them out. Each method is written once (see ``_base``) and names the HTTP
routes it calls; ``docs/api.md`` is generated from those names."""

from __future__ import annotations

from typing import Any

from .._base import Namespace
from .._extras import AI, Functions, Presets, SharedTables
from .._jobs import Exports, Imports
from .._views import Views
from .auth import Auth
from .credits import Credits
from .emulator import Emulator
from .fields import Fields
from .integrations import Actions, AppAccounts, Integrations
from .records import Records
from .runs import Runs
from .sources import Sources
from .tables import Tables
from .workbooks import Workbooks
from .workspaces import Folders, Resources, Workspaces

__all__ = [
    "Actions",
    "AppAccounts",
    "Auth",
    "Credits",
    "Emulator",
    "Exports",
    "Fields",
    "Folders",
    "Imports",
    "Integrations",
    "Records",
    "Resources",
    "Runs",
    "Sources",
    "Tables",
    "Views",
    "Workbooks",
    "Workspaces",
    "NAMESPACES",
]

NAMESPACES: dict[str, type[Namespace[Any]]] = {
    "auth": Auth,
    "workspaces": Workspaces,
    "folders": Folders,
    "resources": Resources,
    "workbooks": Workbooks,
    "tables": Tables,
    "fields": Fields,
    "views": Views,
    "records": Records,
    "runs": Runs,
    "sources": Sources,
    "credits": Credits,
    "integrations": Integrations,
    "actions": Actions,
    "app_accounts": AppAccounts,
    "exports": Exports,
    "imports": Imports,
    "emulator": Emulator,
    "shared_tables": SharedTables,
    "functions": Functions,
    "ai": AI,
    "presets": Presets,
}
