"""Takes the screenshots in docs/ of a running claystack (default http://127.0.0.1:8080):
python scripts/screenshots.py [base URL]. Needs Debian's /usr/bin/chromium and the demo login.

It follows the README's path for a new user in the browser only (the same steps as
tests/browser/test_new_user.py): a "Leads" table, columns, rows pasted from a spreadsheet, a
formula column, an action column from the catalog bound to a column, a run, a cell's JSON,
a search, a webhook and the usage page."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

URL = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8080"
DOCS = Path(__file__).resolve().parents[1] / "docs"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
ROWS = [
    ("Ada Lovelace", "https://www.acme.com/about"),
    ("Grace Hopper", "stripe.com"),
    ("Alan Turing", "http://www.notion.so"),
    ("Edsger Dijkstra", "figma.com/x"),
    ("Barbara Liskov", "linear.app"),
    ("Ken Thompson", ""),
]


def add_column(page: Any, name: str, kind: str) -> Any:
    page.get_by_role("button", name="+ Column").click()
    dialog = page.get_by_role("dialog", name="Add a column")
    dialog.get_by_label("Column name").fill(name)
    dialog.get_by_label("Kind").select_option(kind)
    return dialog


def col_id(page: Any, name: str) -> str:
    header = page.locator("[data-testid=grid] .ag-header-cell", has_text=name).first
    return str(header.get_attribute("col-id"))


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=URL)
        page = context.new_page()
        page.goto(URL + "/")
        page.screenshot(path=DOCS / "web-login.png")
        page.get_by_label("Email").fill("demo@claystack.dev")
        page.get_by_label("Password").fill("claystack")
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="+ Table").click()
        page.get_by_label("Table name").fill("Leads")
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(re.compile(r"/tables/t_\w+$"))
        for name, kind in (("Name", "text"), ("Website", "url")):
            add_column(page, name, kind).get_by_role("button", name="Add column").click()
            page.get_by_role("columnheader", name=re.compile(name)).wait_for()
        # Rows pasted from a spreadsheet at the first cell.
        page.get_by_role("button", name="+ Row").click()
        cell = page.locator(f"[data-testid=grid] [row-index='0'] [col-id='{col_id(page, 'Name')}']")
        cell.click()
        block = "\n".join(f"{n}\t{s}" for n, s in ROWS)
        page.evaluate("(text) => navigator.clipboard.writeText(text)", block)
        page.keyboard.press("Control+V")
        page.get_by_role("gridcell", name="Ken Thompson", exact=True).wait_for()

        dialog = add_column(page, "Greeting", "formula")
        dialog.get_by_label("Insert a column into the formula").select_option(label="Name")
        formula = dialog.get_by_label("Formula", exact=True)
        formula.fill('"Hi " + ' + formula.input_value() + '.split(" ")[0]')
        dialog.get_by_text("Hi Ada").wait_for()
        page.screenshot(path=DOCS / "web-formula.png")
        dialog.get_by_role("button", name="Add column").click()
        page.get_by_role("gridcell", name="Hi Grace", exact=True).wait_for()

        dialog = add_column(page, "Domain", "action")
        action = dialog.get_by_label("Action", exact=True)
        option = action.locator("option", has_text=re.compile("normalize domain", re.I)).first
        action.select_option(str(option.get_attribute("value")))
        dialog.get_by_label(re.compile("^Bind .* to a column$")).first.select_option(
            label="Website"
        )
        page.screenshot(path=DOCS / "web-action.png")
        dialog.get_by_role("button", name="Add column").click()
        page.get_by_role("button", name="▶ Run").click()
        run = page.get_by_role("dialog", name="Run columns")
        run.get_by_role("radio", name="All rows of this view").check()
        run.get_by_role("button", name="Run", exact=True).click()
        page.get_by_role("progressbar", name=re.compile("Domain")).wait_for()
        page.get_by_role("gridcell", name="acme.com", exact=True).click()
        page.get_by_role("complementary", name="Cell details").wait_for()
        page.get_by_test_id("cell-status").filter(has_text="SUCCESS").wait_for()
        page.screenshot(path=DOCS / "web-table.png")
        page.get_by_role("button", name="Close the cell panel").click()
        search = page.get_by_role("searchbox", name="Search this view")
        search.fill("an")
        search.press("Enter")
        page.get_by_test_id("search-count").filter(has_text=" of ").wait_for()
        page.get_by_role("button", name="Next match").click()
        page.screenshot(path=DOCS / "web-search.png")
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
