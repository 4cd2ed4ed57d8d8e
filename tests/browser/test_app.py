"""The web app in a real browser: log in, navigate, the big grid, columns, runs, sources."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench._seed import seed_rows

from claystack import Client
from claystack.server.config import Settings

from ..conftest import DEMO_EMAIL, DEMO_PASSWORD
from .conftest import visit

BIG_ROWS = 100_000


@pytest.fixture(scope="package")
def big_table(clay: Client, web_settings: Settings) -> Any:
    """A 100,000-row table: made through the API, its rows written by SQL."""
    table = clay.tables.create(1, "Big table")
    name = clay.fields.create(table.id, "Name")
    index = clay.fields.create(table.id, "Index", "number")
    seed_rows(
        web_settings.resolved_database_url,
        table.id,
        BIG_ROWS,
        lambda i: {name.id: f"lead {i}", index.id: i},
        schema=web_settings.database_schema,
    )
    return clay.tables.get(table.id)


def small_table(clay: Client, name: str, n: int, **columns: Any) -> Any:
    table = clay.tables.create(1, name)
    fields = {col: clay.fields.create(table.id, col) for col in columns}
    rows = ({fields[c].id: f(i) for c, f in columns.items()} for i in range(n))
    clay.records.add(table.id, rows, return_records=False)
    return clay.tables.get(table.id)


@pytest.mark.both_browsers
def test_login_workspace_and_logout(browser: Any, web_url: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(web_url + "/")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="Invalid email or password").wait_for()
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    switcher = page.get_by_label("Workspace", exact=True)
    switcher.wait_for()
    assert "Demo Workspace" in (switcher.locator("option:checked").text_content() or "")
    cookie = next(c for c in context.cookies() if c["name"] == "claysession")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for()
    assert not [c for c in context.cookies() if c["name"] == "claysession"]
    context.close()


def test_create_rename_search_and_delete(page: Any) -> None:
    visit(page, "/")
    page.get_by_role("button", name="+ Table").click()
    page.get_by_label("Table name").fill("Prospects")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/tables/t_\w+$"))
    title = page.get_by_role("heading", level=1)
    title.filter(has_text="Prospects").wait_for()
    table_url = page.url
    title.get_by_role("button").click()  # the title renames
    page.get_by_label("Table name").fill("Prospects 2026")
    page.get_by_role("button", name="Save").click()
    title.filter(has_text="Prospects 2026").wait_for()
    page.get_by_label("Search the workspace").fill("Prospects 20")
    results = page.get_by_role("list", name="Search results")
    results.get_by_role("link", name=re.compile("Prospects 2026")).click()
    page.wait_for_url(table_url)
    # The stable URL opens the table directly.
    page.goto(table_url)
    title.filter(has_text="Prospects 2026").wait_for()
    page.get_by_label("Search the workspace").fill("Prospects 2026")
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete Prospects 2026").click()
    page.wait_for_url(re.compile(r"/$"))
    page.get_by_text("Nothing matches").wait_for()


def shown_at(page: Any, text: str) -> float:
    """``performance.now()`` of the first animation frame showing a cell reading ``text``."""
    return float(
        page.wait_for_function(
            """(text) => [...document.querySelectorAll("[role=gridcell]")]
                .some((c) => c.textContent === text) && performance.now()""",
            arg=text,
            polling="raf",
        ).json_value()
    )


def budget(ms: float) -> float:
    """A guard against a grid that loads everything, not a benchmark: ``ms`` (the issue's
    target) times 3, and more by the load per CPU, since the browser, the server and the
    test share two cores. The figures themselves belong in BENCHMARKS.md."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return ms * 3 * max(1.0, load)


@pytest.mark.both_browsers
def test_big_table_is_virtualised_and_fast(page: Any, big_table: Any) -> None:
    # The scripts are in the context's cache (it logged in through the app), as for anyone
    # who opened the app before.
    page.goto(f"/tables/{big_table.id}", wait_until="commit")
    first_rows = shown_at(page, "lead 0")  # since this page's navigation started
    assert first_rows <= budget(1000), f"first rows after {first_rows:.0f} ms"
    page.get_by_text(f"{BIG_ROWS:,} rows").wait_for()
    in_dom = page.locator("[data-testid=grid] .ag-row").count()
    assert 0 < in_dom <= 500, in_dom

    clicked = page.evaluate(
        """() => { document.querySelector("[aria-label='Last row']").click();
                   return performance.now(); }"""
    )
    jump = shown_at(page, f"lead {BIG_ROWS - 1}") - clicked
    assert jump <= budget(300), f"last row after {jump:.0f} ms"
    assert page.locator("[data-testid=grid] .ag-row").count() <= 500
    print(
        f"\nfirst rows {first_rows:.0f} ms, last row {jump:.0f} ms, {in_dom} rows in the DOM"
        f" (load per CPU {os.getloadavg()[0] / (os.cpu_count() or 1):.1f})"
    )


def test_search_moves_between_matches(page: Any, big_table: Any) -> None:
    visit(page, f"/tables/{big_table.id}")
    page.get_by_role("gridcell", name="lead 0", exact=True).wait_for()
    search = page.get_by_role("searchbox", name="Search this view")
    search.fill("lead 4999")
    search.press("Enter")
    count = page.get_by_test_id("search-count")
    count.filter(has_text="1 of 11").wait_for()  # lead 4999, lead 49990 … lead 49999
    current = page.locator(".cell.match-current")
    current.filter(has_text=re.compile("^lead 4999$")).wait_for()
    page.get_by_role("button", name="Next match").click()
    count.filter(has_text="2 of 11").wait_for()
    current.filter(has_text=re.compile("^lead 49990$")).wait_for()
    page.get_by_role("button", name="Previous match").click()
    page.get_by_role("button", name="Previous match").click()
    count.filter(has_text="11 of 11").wait_for()
    current.filter(has_text=re.compile("^lead 49999$")).wait_for()
    assert page.locator("[data-testid=grid] .ag-row").count() <= 500
    search.fill("no such lead")
    search.press("Enter")
    count.filter(has_text="no matches").wait_for()


def header_ids(page: Any) -> list[str]:
    cells = page.locator("[data-testid=grid] .ag-header-cell[col-id^=f_]")
    ids = cells.evaluate_all("(cells) => cells.map((c) => c.getAttribute('col-id'))")
    return [i for i in ids if i not in ("f_created_at", "f_updated_at")]


def wait_first_row(page: Any, field_id: str, text: str) -> None:
    page.wait_for_function(
        "([f, text]) => document.querySelector(`[row-index='0'] [col-id=${f}]`)?.textContent"
        " === text",
        arg=[field_id, text],
    )


@pytest.mark.both_browsers
def test_grid_changes_are_saved_on_the_view(page: Any, clay: Client, browser_name: str) -> None:
    """Sort, move and resize from the headers, hide from the Columns menu, filter; all saved
    on the view. Firefox runs the headers' clicks and drags, where the engines differ; the
    Columns menu and the filter dialog are form controls like those of the dialogs it drives
    in the walkthrough."""
    table = small_table(
        clay, "Layout", 30, A=lambda i: f"a{i:02}", B=lambda i: f"b{i % 3}", C=lambda i: "c"
    )
    a, b, c = (table.field(n).id for n in "ABC")
    view = table.firstViewId
    visit(page, f"/tables/{table.id}")
    page.get_by_role("gridcell", name="a00", exact=True).wait_for()
    # Sort: a header click saves the view's sort; the server orders the rows.
    with page.expect_response(re.compile(r"/views/\w+/sort$")):
        page.locator(f".ag-header-cell[col-id={b}] .ag-header-cell-label").click()
    page.locator(f".ag-header-cell[col-id={b}] .ag-header-cell-label").click()
    wait_first_row(page, b, "b2")
    assert clay.views.get(table.id, view).sort == [{"fieldId": b, "direction": "DESC"}]
    # Move: drag column C before A; the move route saves the new order.
    head_c = page.locator(f".ag-header-cell[col-id={c}]")
    head_a = page.locator(f".ag-header-cell[col-id={a}]")
    with page.expect_response(re.compile(rf"/views/\w+/fields/{c}$")):
        box_c, box_a = head_c.bounding_box(), head_a.bounding_box()
        page.mouse.move(box_c["x"] + 30, box_c["y"] + 15)
        page.mouse.down()
        for step in range(1, 11):
            x = box_c["x"] + 30 + (box_a["x"] + 10 - box_c["x"] - 30) * step / 10
            page.mouse.move(x, box_a["y"] + 15)
        page.mouse.up()
    saved = clay.views.get(table.id, view).fields
    assert sorted([a, b, c], key=lambda f: saved[f]["order"]) == [c, a, b]
    # Resize: drag A's right edge; the fields route saves the width.
    handle = head_a.locator(".ag-header-cell-resize")
    handle.hover()  # waits until the moved headers stop moving (a loaded machine animates slowly)
    box = handle.bounding_box()
    with page.expect_response(re.compile(r"/views/\w+/fields$")):
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 80, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    assert clay.views.get(table.id, view).fields[a]["width"] > 200
    if browser_name == "firefox":
        # The layout is the view's: a fresh page shows the order and the sort.
        page.reload()
        wait_first_row(page, b, "b2")
        assert header_ids(page)[:3] == [c, a, b]
        return
    # Hide and pin from the Columns menu.
    page.get_by_role("button", name="Columns", exact=True).click()
    menu = page.get_by_role("dialog", name="Columns")
    with page.expect_response(re.compile(r"/views/\w+/fields$")):
        menu.get_by_role("checkbox", name="T B", exact=True).uncheck()
    menu.get_by_role("button", name="Close dialog").click()
    assert clay.views.get(table.id, view).fields[b]["isVisible"] is False
    # Filter through the filter route.
    page.get_by_role("button", name="Filter", exact=True).click()
    dialog = page.get_by_role("dialog", name="Filter rows")
    dialog.get_by_label("Column").select_option(label="A")
    dialog.get_by_label("Condition").select_option(label="equals")
    dialog.get_by_label("Value").fill("A07")
    dialog.get_by_role("button", name="Apply").click()
    page.get_by_text("1 rows").wait_for()
    assert clay.views.get(table.id, view).filter["items"][0]["type"] == "EQUAL"
    # All of it is the view's: a fresh page shows the same layout.
    page.reload()
    page.get_by_role("gridcell", name="a07", exact=True).wait_for()
    assert header_ids(page)[:2] == [c, a]
    assert b not in header_ids(page)


def test_formula_column_fills_the_table(page: Any, clay: Client) -> None:
    table = small_table(clay, "Formulas", 300, Name=lambda i: f"name {i}")
    name_id = table.field("Name").id
    visit(page, f"/tables/{table.id}")
    page.get_by_role("gridcell", name="name 0", exact=True).wait_for()
    page.get_by_role("button", name="+ Column").click()
    dialog = page.get_by_role("dialog", name="Add a column")
    dialog.get_by_label("Column name").fill("Shout")
    dialog.get_by_label("Kind").select_option("formula")
    dialog.get_by_label("Formula", exact=True).fill(f"{{{{{name_id}}}}}.toUpperCase()")
    dialog.get_by_role("table", name="Formula preview").get_by_text("NAME 0").wait_for()
    dialog.get_by_role("button", name="Add column").click()
    page.get_by_role("gridcell", name="NAME 0", exact=True).wait_for()
    # The run strip counts the column's cells done (a label without "errors": all fine).
    done = page.get_by_role("progressbar", name="Shout", exact=True)
    done.filter(has_text="300 / 300").wait_for(timeout=20_000)
    shout = clay.tables.get(table.id).field("Shout").id
    counts = clay.runs.status(table.id).counts(shout)
    assert counts.get("SUCCESS") == 300, counts
    page.get_by_role("button", name="Last row").click()
    page.get_by_role("gridcell", name="NAME 299", exact=True).wait_for()


def test_action_column_run_and_cell_json(page: Any, clay: Client) -> None:
    table = small_table(clay, "Domains", 40, Site=lambda i: f"https://www.Site{i}.com/x")
    visit(page, f"/tables/{table.id}")
    page.get_by_role("gridcell", name="https://www.Site0.com/x").wait_for()
    page.get_by_role("button", name="+ Column").click()
    dialog = page.get_by_role("dialog", name="Add a column")
    dialog.get_by_label("Column name").fill("Domain")
    dialog.get_by_label("Kind").select_option("action")
    action = dialog.get_by_label("Action", exact=True)
    option = action.locator("option", has_text=re.compile("domain", re.I)).first
    action.select_option(option.get_attribute("value"))
    dialog.get_by_label(re.compile("^Bind .* to a column$")).first.select_option(label="Site")
    dialog.get_by_role("button", name="Add column").click()
    page.get_by_role("columnheader", name=re.compile("Domain")).wait_for()
    page.get_by_role("button", name="▶ Run").click()
    page.get_by_role("radio", name="All rows of this view").check()
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_role("progressbar", name=re.compile("Domain")).wait_for()
    progress = page.get_by_role("progressbar", name=re.compile("Domain"))
    progress.filter(has_text="40 / 40").wait_for()
    page.get_by_role("gridcell", name="site0.com", exact=True).click()
    panel = page.get_by_role("complementary", name="Cell details")
    assert panel.get_by_test_id("cell-status").inner_text() == "SUCCESS"
    assert "site0.com" in panel.get_by_test_id("cell-json").inner_text()
    # normalize-domain is free: a success shows its price, 0.
    panel.get_by_test_id("cell-credits").filter(has_text=re.compile(r"^0 \(")).wait_for()


def test_webhook_url_copied_and_rows_arrive(page: Any, clay: Client, web_url: str) -> None:
    table = clay.tables.create(1, "Inbox")
    visit(page, f"/tables/{table.id}")
    page.get_by_text("0 rows").wait_for()
    page.get_by_role("button", name="Webhook").click()
    page.get_by_role("button", name="Add webhook").click()
    url = page.get_by_test_id("webhook-url").inner_text()
    token = page.get_by_test_id("webhook-token").inner_text()
    assert re.match(r"http://127\.0\.0\.1:\d+/v3/sources/webhook/webhook-[0-9a-f-]{36}$", url)
    page.get_by_role("button", name="Copy the webhook URL").click()
    assert page.evaluate("navigator.clipboard.readText()") == url
    page.get_by_role("button", name="Close dialog").click()
    # The URL names CLAYSTACK_PUBLIC_BASE_URL (here the default port); this server's port differs.
    path = url.split("/v3/", 1)[1]
    r = httpx.post(
        f"{web_url}/v3/{path}",
        json={"email": "ana@example.com"},
        headers={"x-clay-webhook-auth": token},
    )
    assert r.status_code == 200, r.text
    page.get_by_text("1 rows").wait_for()
    page.get_by_role("gridcell", name=re.compile("ana@example.com")).wait_for()


def test_csv_import_with_progress(page: Any, clay: Client) -> None:
    table = clay.tables.create(1, "Imported")
    lines = ["email,company"] + [f"p{i}@example.com,Company {i}" for i in range(2500)]
    visit(page, f"/tables/{table.id}")
    page.get_by_text("0 rows").wait_for()
    page.get_by_role("button", name="Import CSV").click()
    page.get_by_label("CSV file", exact=True).set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}
    )
    page.get_by_role("button", name="Import", exact=True).click()
    progress = page.get_by_role("progressbar", name="Rows imported")
    progress.filter(has_text="2,500 / 2,500").wait_for()
    page.get_by_text("Imported 2,500 rows from people.csv").wait_for()
    page.get_by_role("button", name="Close", exact=True).click()
    page.get_by_text("2,500 rows").wait_for()
    page.get_by_role("gridcell", name="p0@example.com", exact=True).wait_for()
    assert clay.tables.count(table.id) == 2500


def test_unknown_table_shows_a_message(page: Any) -> None:
    visit(page, "/tables/t_doesnotexist")
    page.get_by_role("alert").filter(has_text="Table not found").wait_for()


def test_usage_page(page: Any) -> None:
    visit(page, "/usage")
    page.get_by_role("heading", name="Credits and usage").wait_for()
    assert int(page.get_by_test_id("balance").inner_text().replace(",", "")) > 0
    page.get_by_role("img", name="Credits and actions by day").wait_for()


def test_docs_render_offline(new_page: Any, web_url: str) -> None:
    page = new_page
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(web_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    response = page.goto("/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Swagger UI resolves the 450 KB OpenAPI 3.1 document in the page: seconds on a loaded machine.
    page.get_by_text("Add Records").first.wait_for(timeout=60_000)
    assert not outside, outside


def test_export_downloads_the_view(page: Any, clay: Client) -> None:
    table = small_table(clay, "Exported", 30, Email=lambda i: f"e{i}@example.com")
    visit(page, f"/tables/{table.id}")
    page.get_by_role("gridcell", name="e0@example.com", exact=True).wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].endswith("Email") and len(lines) == 31, lines[:2]
    assert "e29@example.com" in lines[-1]
