"""axe-core (shipped in the axe-playwright-python wheel, injected from that local file) on
the main screens: no serious or critical violations (labels, names, contrast, ARIA)."""

from __future__ import annotations

import re
from typing import Any

from axe_playwright_python.base import AXE_SCRIPT

from claystack import Client

from .conftest import visit
from .test_app import small_table

OPTIONS = {"resultTypes": ["violations"]}  # what Axe().run asks for


def violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page's current screen (axe is
    injected once per loaded page: the screens ``visit`` opens keep it)."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    results = page.evaluate("(options) => axe.run(document, options)", OPTIONS)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_main_screens_pass_axe(browser: Any, page: Any, web_url: str, clay: Client) -> None:
    login = browser.new_context()
    anon = login.new_page()
    anon.goto(web_url + "/")
    anon.get_by_role("button", name="Log in").wait_for()
    found = {"login": violations(anon)}
    login.close()
    table = small_table(clay, "Accessible", 5, Name=lambda i: f"n{i}")
    visit(page, f"/tables/{table.id}")
    page.get_by_role("gridcell", name="n0", exact=True).wait_for()
    found["table"] = violations(page)
    page.get_by_role("button", name="+ Column").click()
    dialog = page.get_by_role("dialog", name="Add a column")
    dialog.get_by_label("Kind").select_option("action")
    action = dialog.get_by_label("Action", exact=True)
    option = action.locator("option", has_text=re.compile("domain", re.I)).first
    action.select_option(str(option.get_attribute("value")))
    found["add column"] = violations(page)
    visit(page, "/usage")
    page.get_by_role("heading", name="Credits and usage").wait_for()
    found["usage"] = violations(page)
    assert not any(found.values()), found
