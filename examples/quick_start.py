"""The seed's Quick Start, steps 1 to 4, as raw HTTP (what the curl lines do), including
what step 4 needs first: a table, a formula column to run and a view.

    python examples/quick_start.py [http://127.0.0.1:8080]

Start the server first (`claystack serve`); the demo login is used unless CLAYSTACK_EMAIL /
CLAYSTACK_PASSWORD say otherwise.
"""

from __future__ import annotations

import os
import sys
import time

import httpx

ROOT = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080").rstrip("/")
EMAIL = os.environ.get("CLAYSTACK_EMAIL", "demo@claystack.dev")
PASSWORD = os.environ.get("CLAYSTACK_PASSWORD", "claystack")


def check(r: httpx.Response) -> dict:
    if r.status_code != 200:
        sys.exit(f"{r.request.method} {r.request.url} -> {r.status_code}: {r.text}")
    return r.json()


with httpx.Client(base_url=f"{ROOT}/v3", timeout=30) as http:
    # 1. Authenticate: the session comes back in Set-Cookie (httpx keeps the cookie).
    check(http.post("/auth/login", json={"email": EMAIL, "password": PASSWORD, "source": None}))
    # 2. List workspaces.
    workspace = check(http.get("/my-workspaces"))["results"][0]["id"]
    # 3. List resources in the workspace.
    body = {"filters": {"resourceTypes": ["WORKBOOK"]}}
    check(http.post(f"/workspaces/{workspace}/resources_v2/", json=body))

    # What step 4 needs: a table, a webhook that fills it, a formula column and a view.
    table = check(http.post("/tables", json={"name": "Signups", "workspaceId": workspace}))
    table_id = table["table"]["id"]
    webhook = {  # the webhook request body: PATCH /v3/tables/{id} with sourceSettings.addSource
        "sourceSettings": {
            "addSource": {
                "name": "Webhook",
                "source": {
                    "name": "Webhook",
                    "workspaceId": workspace,
                    "type": "webhook",
                    "typeSettings": {"urlSlugText": "Pull in data from a Webhook"},
                },
            }
        }
    }
    url = check(http.patch(f"/tables/{table_id}", json=webhook))["source"]["url"]
    for email in ("ada@example.com", "bo@example.org", "cy@example.net"):
        check(httpx.post(url, json={"email": email}))  # no login: the URL is the secret
    formula = {  # the formula request body: one JavaScript expression over other columns
        "name": "Domain",
        "type": "formula",
        "typeSettings": {"formulaText": "{{Webhook}}.email.split('@')[1]"},
    }
    column = check(http.post(f"/tables/{table_id}/fields", json=formula))["field"]["id"]
    view = check(http.post(f"/tables/{table_id}/views", json={"name": "First 10"}))
    view_id = view.get("view", view)["id"]

    # 4. Run enrichment on the table.
    run = {
        "fieldIds": [column],
        "runRecords": {"viewIdTopRecords": {"viewId": view_id, "numRecords": 10}},
        "callerName": "API",
    }
    check(http.patch(f"/tables/{table_id}/run", json=run))
    deadline = time.monotonic() + 60
    while True:
        status = check(http.get(f"/workspaces/{workspace}/tables/{table_id}/fields/runstatus"))
        counts = {c["status"]: c["count"] for c in status["statusCountsByField"].get(column, [])}
        if not {"QUEUED", "RUNNING", "RETRY"} & counts.keys() or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    print(f"table {table_id}, column {column}, view {view_id}: {counts}")
