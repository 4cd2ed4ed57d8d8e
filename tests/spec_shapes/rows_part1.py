"""The cases of spec part 1, one per row (method and path as the spec writes them)."""

from __future__ import annotations

from ..conftest import DEMO_EMAIL, DEMO_PASSWORD
from .checks import (
    Row,
    _app_accounts,
    _basic_source,
    _bulk_fetch,
    _bulk_fetch_external,
    _count,
    _count_after,
    _field_created,
    _field_patched,
    _folder_gone,
    _global_search,
    _ids,
    _integration,
    _integration_type,
    _integrations,
    _login,
    _logout,
    _no_views,
    _owners,
    _record_patched,
    _record_read,
    _records_added,
    _records_patched,
    _records_wrapped_cells,
    _resources,
    _run,
    _runstatus,
    _source,
    _sources_array,
    _success,
    _table_add_source,
    _table_created,
    _table_patched,
    _table_read,
    _untitled,
    _view_created,
    _view_patched,
    _view_read,
    _view_records,
    _webhook,
    _workbook_made,
    _workbook_tables,
    _workbooks_array,
    gone,
    ok_json,
)
from .checks_more import (
    _action_field,
    _ai_alias,
    _bearer,
    _empty_formula,
    _errored,
    _formula_field,
    _formula_shout,
    _moved,
    _patched_to_formula,
    _still_formula,
    _subscribed,
    _unauthorized,
    _unknown_action,
)
from .ctx import HTTP
from .shapes import FOLDER, array, has, prefixed, report

RUN_BODY = {"fieldIds": ["{f}"], "runRecords": {"recordIds": ["r_audit"]}, "callerName": "sdk"}
ADD_SOURCE = {
    "tableSettings": {},
    "fieldGroupMap": {},
    "sourceSettings": {
        "addSource": {
            "name": "Webhook",
            "source": {
                "name": "Webhook",
                "workspaceId": 1,
                "type": "webhook",
                "typeSettings": {"urlSlugText": "Pull in data from a Webhook"},
            },
        }
    },
}
WS = "/v3/workspaces/{ws}"

ROWS_PART1: list[Row] = [
    # part 1 — auth and identity
    Row(
        "POST",
        "/v3/auth/login",
        {"email": DEMO_EMAIL, "password": DEMO_PASSWORD, "source": "web"},
        _login,
    ),
    Row("POST", "/v3/auth/logout", None, _logout),
    Row("GET", "/v3/me", check=ok_json(lambda b: has(b, "id email name apiToken"))),
    Row(
        "POST",
        "/v3/auth/login (bad credentials)",
        {"email": DEMO_EMAIL, "password": "wrong"},
        _errored("Unauthorized"),
        status=401,
        anon=True,
    ),
    Row("GET", "/v3/me (no session)", check=_unauthorized, status=401, anon=True),
    Row(
        "GET",
        "/v3/me (Bearer apiToken)",
        check=_bearer,
        anon=True,
        headers=(("authorization", "Bearer {token}"),),
    ),
    Row("GET", "/v3/no-such-route", check=_errored("NoMatchingURL", "Invalid URL"), status=404),
    # workspaces, folders, resources, workbooks
    Row(
        "GET",
        "/v3/my-workspaces",
        check=ok_json(lambda b: array(has(b, "results")["results"], "id name", "results")),
    ),
    Row(
        "GET",
        "/v3/workspaces/{ws}",
        check=ok_json(lambda b: has(has(b, "workspace")["workspace"], "id name credits")),
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/folders",
        {"name": "Leads", "parentFolderId": None},
        ok_json(lambda b: prefixed(has(b, FOLDER)["id"], "fo_")),
    ),
    Row("DELETE", "/v3/folders/{folder}", check=_folder_gone),
    Row(
        "DELETE",
        "/v3/workspaces/{ws}/resources/",
        {"folderIds": [], "workbookIds": [], "tableIds": ["{t}"], "isPermanentDelete": False},
        gone("/v3/tables/{t}"),
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/resources_v2/",
        {"parentResource": None, "filters": {"resourceTypes": ["WORKBOOK", "TABLE"]}},
        _resources,
        needs="t",
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/resources_v2/ (resourceTypes, isGlobalSearch)",
        {"resourceTypes": ["TABLE"], "isGlobalSearch": True},
        _global_search,
        needs="t",
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/resources_v2 (no trailing slash)",
        {"parentResource": None, "filters": {}},
        _resources,
        needs="t",
    ),
    Row(
        "POST",
        "/v3/workspaces/{ws}/resources/search",
        {"query": "Audit"},
        _global_search,
        needs="t",
    ),
    Row(
        "POST",
        "/v3/workbooks",
        {"name": "WB", "workspaceId": 1, "settings": {"isAutoRun": True}},
        _workbook_made,
    ),
    Row("DELETE", "/v3/workbooks/{wb}", check=gone("/v3/tables/{t}")),
    Row("GET", "/v3/workspaces/{ws}/workbooks", check=ok_json(_workbooks_array), needs="wb"),
    Row("GET", "/v3/workbooks/{wb}/tables", check=_workbook_tables),
    # tables, fields, views
    Row("POST", "/v3/tables", {"name": "Leads", "workspaceId": 1}, _table_created),
    Row(
        "POST", "/v3/tables (no name, basic)", {"workspaceId": "1", "template": "basic"}, _untitled
    ),
    Row("POST", "/v3/tables (no_views)", {"workspaceId": 1, "template": "no_views"}, _no_views),
    Row(
        "POST",
        "/v3/tables (basic_source)",
        {"workspaceId": 1, "template": "basic_source", "callerName": "x"},
        _basic_source,
    ),
    Row("GET", "/v3/tables/{t}", check=_table_read),
    Row(
        "PATCH",
        "/v3/tables/{t}",
        {"name": "Renamed", "tableSettings": {"custom": 1}},
        _table_patched,
    ),
    Row("PATCH", "/v3/tables/{t} (addSource)", ADD_SOURCE, _table_add_source),
    Row("PATCH", "/v3/tables/{t} (workbookId: move)", {"workbookId": "{wb2}"}, _moved),
    Row("DELETE", "/v3/tables/{t}", check=gone("/v3/tables/{t}")),
    Row(
        "POST",
        "/v3/tables/{t}/fields",
        {"name": "Title", "type": "text", "typeSettings": {}},
        _field_created,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (action, Clay package id)",
        {
            "name": "Call",
            "type": "action",
            "typeSettings": {
                "actionKey": "http-api-v2",
                "actionPackageId": HTTP,
                "inputsBinding": [
                    {"name": "url", "formulaText": '"http://127.0.0.1:9/" + {{@f}}'},
                    {"name": "method", "formulaText": '"GET"'},
                    {"name": "headers", "formulaMap": {"X-A": '"1"'}},
                    {"name": "body", "optional": True},
                    {"name": "retryOptions|maxRetries", "formulaText": "2"},
                    {"name": "followRedirects", "formulaText": "true"},
                    {"name": "returnResponseMetadata", "formulaText": "false"},
                    {"name": "queryString"},
                ],
                "dataTypeSettings": {"type": "json"},
            },
        },
        _action_field,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (text with formulaText)",
        {
            "name": "Upper",
            "type": "text",
            "typeSettings": {
                "formulaText": "({{@f}} || '').toUpperCase()",
                "formulaType": "text",
                "dataTypeSettings": {"type": "text"},
            },
        },
        _formula_field,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (formula without a formula)",
        {"name": "Later", "type": "formula", "typeSettings": {}},
        _empty_formula,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (unknown action)",
        {
            "name": "Mystery",
            "type": "action",
            "typeSettings": {
                "actionKey": "enrich-person-with-mixrank-v2",
                "actionPackageId": "e251a70e-46d7-4f3a-b3ef-a211ad3d8bd2",
                "inputsBinding": [{"name": "linkedinUrl", "formulaText": "{{@f}}"}],
            },
        },
        _unknown_action,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (actionKey ai)",
        {
            "name": "Summary",
            "type": "action",
            "typeSettings": {
                "actionKey": "ai",
                "actionPackageId": "67ba01e9-1898-4e7d-afe7-7ebe24819a57",
                "inputsBinding": [
                    {"name": "prompt", "formulaText": '"Summarise " + {{@f}}'},
                    {"name": "useCase", "formulaText": '"use-ai"'},
                ],
            },
        },
        _ai_alias,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (source field subscribing)",
        {
            "name": "Inbound",
            "type": "source",
            "typeSettings": {"sourceIds": ["{buffered}"], "canCreateRecords": True},
        },
        _subscribed,
    ),
    Row("PATCH", "/v3/tables/{t}/fields/{f}", {"name": "Full name"}, _field_patched),
    Row(
        "PATCH",
        "/v3/tables/{t}/fields/{formula} (no formulaType: keeps the formula)",
        {"typeSettings": {"formulaText": '{{@f}} + "?"'}},
        _still_formula,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/fields (formulaText, no dataTypeSettings)",
        {"name": "Shout", "type": "text", "typeSettings": {"formulaText": '{{@f}} + "!"'}},
        _formula_shout,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/fields/{act} (changing actionKey)",
        {
            "typeSettings": {
                "actionKey": "normalize-domain",
                "actionPackageId": HTTP,
                "inputsBinding": [{"name": "domain", "formulaText": "{{@f}}"}],
            }
        },
        _errored("BadRequest"),
        status=400,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/fields/{f2} (text to formula)",
        {
            "typeSettings": {
                "formulaText": '{{@f}} + "!"',
                "formulaType": "text",
                "dataTypeSettings": {"type": "text"},
            }
        },
        _patched_to_formula,
    ),
    Row("DELETE", "/v3/tables/{t}/fields/{f}", check=None),
    Row("POST", "/v3/tables/{t}/views", {"name": "Mine", "limit": 1}, _view_created),
    Row("GET", "/v3/tables/{t}/views/{v}", check=_view_read),
    Row("PATCH", "/v3/tables/{t}/views/{gv}", {"name": "Renamed"}, _view_patched),
    Row("DELETE", "/v3/tables/{t}/views/{gv}", check=None),
    Row(
        "DELETE",
        "/v3/tables/{t}/views/{pv} (preconfigured: undeletable)",
        check=_errored("BadRequest"),
        status=400,
    ),
    # records
    Row("GET", "/v3/tables/{t}/views/{v}/records/ids", check=_ids),
    Row(
        "POST",
        "/v3/tables/{t}/records",
        {"records": [{"id": "my-own-id", "cells": {"{f}": "Acme", "f_unknown": 1}}, {"cells": {}}]},
        _records_added,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/records (wrapped cell values)",
        {"records": [{"cells": {"{f}": {"value": "Acme", "metadata": {"status": "SUCCESS"}}}}]},
        _records_wrapped_cells,
    ),
    Row(
        "POST",
        "/v3/tables/{t}/records (form-encoded)",
        {"records": [{"id": "my-own-id", "cells": {"{f}": "Acme"}}, {"cells": {}}]},
        _records_added,
        form=True,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/records",
        {"records": [{"id": "r_audit", "cells": {"{f}": "Ada L"}}]},
        _records_patched,
    ),
    Row("GET", "/v3/tables/{t}/records/{r}", check=_record_read),
    Row("PATCH", "/v3/tables/{t}/records/{r}", {"cells": {"{f}": "Ann"}}, _record_patched("Ann")),
    Row("PATCH", "/v3/tables/{t}/records/{r} (flat)", {"{f}": "Flat"}, _record_patched("Flat")),
    Row(
        "PATCH",
        "/v3/tables/{t}/records/{r} (wrapped cell value)",
        {"cells": {"{f}": {"value": "Wrapped", "metadata": {"status": "SUCCESS"}}}},
        _record_patched("Wrapped"),
    ),
    Row("DELETE", "/v3/tables/{t}/records/{r}", check=_count_after(1)),
    Row("DELETE", "/v3/tables/{t}/records", None, _count_after(0)),
    Row("DELETE", "/v3/tables/{t}/records (recordIds)", {"recordIds": ["{r}"]}, _count_after(1)),
    Row(
        "DELETE",
        "/v3/tables/{t}/records (deleteAll, form)",
        {"deleteAll": True, "viewId": "{v}", "omitDeletingRecordIds": ["{r}"]},
        _count_after(1),
        form=True,
    ),
    Row(
        "DELETE",
        "/v3/tables/{t}/records (deleteAll, empty recordIds)",
        {"deleteAll": True, "viewId": "{v}", "recordIds": []},
        _count_after(0),
    ),
    Row("POST", "/v3/tables/{t}/bulk-fetch-records", {"recordIds": ["{r}"]}, _bulk_fetch),
    Row(
        "POST",
        "/v3/tables/{t}/bulk-fetch-records (externalContent)",
        {"recordIds": ["{r}"], "fieldIds": ["{f}"], "includeExternalContentFieldIds": ["{f}"]},
        _bulk_fetch_external,
    ),
    Row("GET", "/v3/tables/{t}/views/{v}/records?limit=1&offset=0", check=_view_records),
    Row("GET", "/v3/tables/{t}/count", check=_count),
    # running
    Row("PATCH", "/v3/tables/{t}/run", RUN_BODY, _run),
    Row(
        "PATCH",
        "/v3/tables/{t}/run (viewIdTopRecords)",
        {
            "fieldIds": ["{f}"],
            "runRecords": {"viewIdTopRecords": {"viewId": "{v}", "numRecords": 1}},
        },
        _run,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/run (recordIds, tableId, flags)",
        {
            "fieldIds": ["{f}"],
            "runRecords": {"recordIds": ["r_audit"], "tableId": "{t}"},
            "forceRun": True,
            "skipActionFieldRuns": False,
            "skipTriggerSetting": True,
        },
        _run,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/run (no runRecords)",
        {"fieldIds": ["{f}"]},
        _errored("BadRequest", "runRecords"),
        status=400,
    ),
    Row(
        "PATCH",
        "/v3/tables/{t}/run (no fieldIds)",
        {"runRecords": {"recordIds": ["r_audit"]}},
        _errored("BadRequest", 'Field "fieldIds" - Required'),
        status=400,
    ),
    Row(
        "GET",
        "/v3/workspaces/{ws}/tables/{t}/fields/runstatus",
        check=_runstatus,
        needs="formula",
    ),
    # sources and webhooks
    Row("GET", "/v3/tables/{st}/sources", check=_sources_array),
    Row("GET", "/v3/sources?tableId={st}", check=_sources_array),
    Row("GET", "/v3/sources/{s}", check=_source),
    Row("DELETE", "/v3/tables/{st}/sources/{s}", {"deleteRecords": False}, _success),
    Row("DELETE", "/v3/sources/{s}", {"deleteRecords": True}, _success),
    Row("POST", "/v3/sources/webhook/{hook}", {"email": "a@b.c"}, _webhook),
    # credits, owners, integrations
    Row("GET", "/v3/owners", check=ok_json(_owners)),
    Row("GET", "/v3/workspaces/{ws}/permissions", check=ok_json(_owners)),
    Row("GET", "/v3/users/{user}/credits", check=ok_json(report)),
    Row("POST", "/v3/users/{user}/resources", {}, _resources, needs="t"),
    Row("GET", "/v3/workspaces/{ws}/credits", check=ok_json(report)),
    Row(
        "GET",
        "/v3/credit-reporting/{ws}/creditReportType/workspace"
        "?timeRange[startTime]=2026-01-01T00:00:00Z&timeRange[endTime]=2027-01-01T00:00:00Z",
        check=ok_json(report),
    ),
    Row("GET", "/v3/integrations", check=ok_json(_integrations)),
    Row("GET", "/v3/workspaces/{ws}/app-accounts", check=_app_accounts, needs="aa"),
    Row(
        "GET",
        "/v3/integrations/{type}",
        check=ok_json(_integration),
    ),
    Row("GET", "/v3/app-accounts/type/{type}", check=ok_json(_integration_type)),
    Row("GET", "/v3/app-accounts/type/{type}?workspaceId={ws}", check=ok_json(_integration_type)),
    Row("GET", "/v3/integrations/{type}/credits", check=ok_json(report)),
    Row("GET", "/v3/integrations/{type}/credits/report", check=ok_json(report)),
    Row(
        "GET",
        "/v3/credit-reporting/{ws}/creditReportType/integration"
        "?timeRange[startTime]=2026-01-01T00:00:00Z&timeRange[endTime]=2027-01-01T00:00:00Z",
        check=ok_json(report),
    ),
    Row(
        "GET",
        "/v3/credit-reporting/{ws}/creditReportType/workspace?integrations[0]=use-ai",
        check=ok_json(report),
    ),
]
