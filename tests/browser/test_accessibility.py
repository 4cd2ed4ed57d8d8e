"""axe-core (shipped in the axe-playwright-python wheel, injected from that local file) on
the main screens: no serious or critical violations (labels, names, contrast, ARIA)."""

from __future__ import annotations

import re
from typing import Any

from axe_playwright_python.sync_playwright import Axe

from claystack import Client

from .test_app import small_table


def violations(page: Any) -> list[str]:
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
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
    page.goto(f"/tables/{table.id}")
    page.get_by_role("gridcell", name="n0", exact=True).wait_for()
    found["table"] = violations(page)
    page.get_by_role("button", name="+ Column").click()
    dialog = page.get_by_role("dialog", name="Add a column")
    dialog.get_by_label("Kind").select_option("action")
    action = dialog.get_by_label("Action", exact=True)
    option = action.locator("option", has_text=re.compile("domain", re.I)).first
    action.select_option(str(option.get_attribute("value")))
    found["add column"] = violations(page)
    page.goto("/usage")
    page.get_by_role("heading", name="Credits and usage").wait_for()
    found["usage"] = violations(page)
    assert not any(found.values()), found
