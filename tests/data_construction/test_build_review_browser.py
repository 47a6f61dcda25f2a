"""Stage 5: the review page driven by a real headless Chromium, decisions saved as they are made."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from scripted_models import fake_backend_answer

from imvideoedit.data_construction.export import run_export
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.pair_filter import run_filter
from imvideoedit.data_construction.records import read_records
from imvideoedit.data_construction.review import ReviewServer, human_decisions
from imvideoedit.vlm import FakeBackend

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def review_server(pairs_config):
    config = pairs_config()
    run_filter(config, backend=FakeBackend(fake_backend_answer))
    server = ReviewServer(config, port=0).start()
    yield server
    server.close()


@pytest.fixture
def page():
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.skip(f"the playwright package is not usable (pip install playwright): {error}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def _text(page, selector: str) -> str:
    return page.inner_text(selector).strip()


def _wait_text(page, selector: str, expected: str) -> None:
    page.wait_for_function(
        "([selector, expected]) => document.querySelector(selector).textContent.trim() === expected",
        arg=[selector, expected],
        timeout=10_000,
    )


def test_build_review_page_keyboard_decisions(review_server, page):
    server = review_server
    items = server.items()
    total = len(items)
    assert total >= 4
    page.goto(server.url)
    _wait_text(page, "#position", f"1 / {total}")
    first = items[0]
    assert _text(page, "#item-id") == first["id"]
    assert _text(page, "#task") == first["task_title"]
    assert _text(page, "#instruction") == first["instruction"]
    assert _text(page, "#edited-prompt") == first["edited_prompt"]
    assert _text(page, "#judge-verdict") == ("pass" if first["judge_accepts"] else "fail")
    assert _text(page, "#scores").count("/ 10") == 3
    page.wait_for_function("document.querySelector('#target-img').complete")
    assert page.evaluate(
        "[document.querySelector('#source-img').naturalWidth, "
        "document.querySelector('#target-img').naturalWidth]"
    ) == [32, 32]

    page.keyboard.press("a")  # accept, move on
    _wait_text(page, "#position", f"2 / {total}")
    assert human_decisions(server.layout) == {first["id"]: True}, "saved before the page moved on"
    page.keyboard.press("r")  # reject the second
    _wait_text(page, "#position", f"3 / {total}")
    assert human_decisions(server.layout) == {first["id"]: True, items[1]["id"]: False}
    _wait_text(page, "#counts", f"accepted 1 · rejected 1 · undecided {total - 2}")

    page.keyboard.press("ArrowLeft")
    _wait_text(page, "#decision", "rejected")
    page.keyboard.press("u")  # undo the rejection
    _wait_text(page, "#decision", "undecided")
    assert human_decisions(server.layout) == {first["id"]: True}
    page.keyboard.press("f")  # only undecided pairs
    _wait_text(page, "#position", f"1 / {total - 1}")
    assert _text(page, "#item-id") == items[1]["id"]

    page.reload()  # decisions survive a reload (and a server restart: they are on disk)
    _wait_text(page, "#counts", f"accepted 1 · rejected 0 · undecided {total - 1}")
    _wait_text(page, "#position", f"2 / {total}")  # opens at the first undecided pair
    statuses = [r["status"] for r in read_records(BuildLayout(server.config.output_dir).review)]
    assert statuses == ["accepted", "rejected", "cleared"]

    run_export(server.config)  # the reviewer's accept wins over the judge
    metadata = (server.config.export_dir / "metadata.jsonl").read_text()
    assert json.dumps(first["id"]) in metadata


def test_build_review_server_guards(review_server):
    server = review_server
    item = server.items()[0]["id"]

    def post(
        body: bytes, content_type: str = "application/json", host: str | None = None
    ) -> tuple[int, dict]:
        request = urllib.request.Request(server.url + "api/decision", data=body, method="POST")
        request.add_header("Content-Type", content_type)
        if host:
            request.add_header("Host", host)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    assert post(json.dumps({"id": item, "decision": "accept"}).encode()) == (
        200,
        {"id": item, "decision": "accepted"},
    )
    assert post(json.dumps({"id": item, "decision": "accept"}).encode(), host="evil.example:80")[0] == 403
    assert post(b"id=x&decision=accept", content_type="application/x-www-form-urlencoded")[0] == 415
    assert post(json.dumps({"id": "nope", "decision": "accept"}).encode())[0] == 400
    assert post(json.dumps({"id": item, "decision": "maybe"}).encode())[0] == 400
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(server.url + "images/..%2F..%2Fscenes.jsonl/source", timeout=10)
    assert error.value.code == 404
    assert human_decisions(server.layout) == {item: True}
