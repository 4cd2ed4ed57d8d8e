"""Takes the screenshots in docs/ of a running claystack (default http://127.0.0.1:8080):
python scripts/screenshots.py [base URL]. Needs Debian's /usr/bin/chromium and the demo login.
It creates a "Leads" table with a formula and an enrichment column and runs them."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

from claystack import Client

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
DOCS = Path(__file__).resolve().parents[1] / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
SITES = ["https://www.acme.com/about", "stripe.com", "http://www.notion.so", "", "figma.com/x"]


def main() -> None:
    with Client(URL + "/v3", email="demo@claystack.dev", password="claystack") as clay:
        table = clay.tables.create(1, "Leads")
        name = clay.fields.create(table.id, "Name")
        site = clay.fields.create(table.id, "Website", "url")
        rows = [{name.id: f"Lead {i}", site.id: SITES[i % len(SITES)]} for i in range(200)]
        clay.records.add(table.id, rows, return_records=False)
        clay.fields.create_formula(table.id, "Shout", f"{{{{{name.id}}}}}?.toUpperCase()")
        domain = clay.fields.create_action(
            table.id, "Domain", "normalize-domain", {"url": f"{{{{{site.id}}}}}"}
        )
        clay.runs.start(table.id, [domain.id], view_id=clay.tables.get(table.id).firstViewId)
        clay.runs.wait(table.id, timeout=120)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(URL + "/")
        page.screenshot(path=DOCS / "web-login.png")
        page.get_by_label("Email").fill("demo@claystack.dev")
        page.get_by_label("Password").fill("claystack")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Log out").wait_for()
        page.goto(f"{URL}/tables/{table.id}")
        page.get_by_role("gridcell", name="acme.com", exact=True).first.click()
        page.get_by_role("complementary", name="Cell details").wait_for()
        page.screenshot(path=DOCS / "web-table.png")
        page.get_by_role("button", name="Close the cell panel").click()
        page.get_by_role("button", name="+ Column").click()
        dialog = page.get_by_role("dialog", name="Add a column")
        dialog.get_by_label("Column name").fill("Greeting")
        dialog.get_by_label("Kind").select_option("formula")
        dialog.get_by_label("Formula", exact=True).fill(f'"Hi " + {{{{{name.id}}}}}')
        dialog.get_by_text("Hi Lead 0").wait_for()
        page.screenshot(path=DOCS / "web-formula.png")
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Webhook").click()
        page.get_by_role("button", name="Add webhook").click()
        page.get_by_test_id("webhook-url").wait_for()
        page.screenshot(path=DOCS / "web-webhook.png")
        page.goto(URL + "/usage")
        page.get_by_role("img", name="Credits and actions by day").wait_for()
        page.screenshot(path=DOCS / "web-usage.png")
        browser.close()


if __name__ == "__main__":
    main()
