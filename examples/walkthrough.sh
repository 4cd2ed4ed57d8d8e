#!/usr/bin/env bash
# A new user's first session with the claystack command, against a running server:
# log in, make a table from a CSV, add a formula column, run it, export the result,
# and feed the table from a webhook.
#   examples/walkthrough.sh [http://127.0.0.1:8080/v3]
# Uses `claystack` from PATH (activate the virtualenv: `source .venv/bin/activate`).
set -euo pipefail
cd "$(dirname "$0")"
URL="${1:-http://127.0.0.1:8080/v3}"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

claystack login --url "$URL" --email demo@claystack.dev --password claystack
TABLE=$(claystack tables create Leads --json | json '["id"]')
claystack import leads.csv --table "$TABLE" --create-fields --infer-types --preview
claystack import leads.csv --table "$TABLE" --create-fields --infer-types
claystack fields add "$TABLE" Domain --formula "{{Email}}.split('@')[1]"
claystack run "$TABLE" --field Domain --wait --timeout 120
claystack tables export "$TABLE" --output "${OUT:-leads-out.csv}"
SOURCE=$(claystack webhooks add "$TABLE" --name Signups --json | json '["id"]')
claystack webhooks send "$SOURCE" --data '{"email": "new@example.com"}'
claystack webhooks list "$TABLE"
claystack tables count "$TABLE"
claystack credits
