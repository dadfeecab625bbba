"""The web console in Debian's Chromium (Playwright, headless): one server and one browser for the module.

Every check of issue 12's "How we will judge it" is driven in the page: sign in (keys and the console
password), create a task, watch it live, details with callbacks and their delivery attempts, play MP4,
HLS and DASH outputs, view a sprite, download the snapshots' zip, end, restart, bulk actions, pause,
resume and MaxConcurrent, search and filter, a second account's view, CSRF refusals.

Skips loudly without /usr/bin/chromium or Playwright, and fails instead under CI (env CI set), where
.ci/services.sh installs chromium. Screenshots of the list and detail pages go to a folder printed
here (and copied to /tmp/console-shots).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ci_jobs import config
from ci_jobs.server import create_app

from ..conftest import BUCKET, REGION, SECRET_ID, SECRET_KEY, clip_bytes, job_body, sdk
from ..harness import ServerThread, free_port

CHROMIUM = Path("/usr/bin/chromium")
OTHER_BUCKET, OTHER_ID, OTHER_KEY = "otherbucket-1250000001", "AKIDOTHER", "OTHERKEY"
ALT_BUCKET = "altbucket-1250000000"  # a second bucket of the first account (the bucket selector)
CONSOLE_PASSWORD = "console-pass-2026"  # [console] password: signs in as the second account (APPID 1250000001)
SHOTS = Path("/tmp/console-shots")

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None


def _missing() -> str:
    if sync_playwright is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return "no /usr/bin/chromium (apt-get install -y chromium; .ci/services.sh does it)"
    return ""


if _missing():
    if os.environ.get("CI"):
        pytest.fail(f"console browser tests cannot run under CI: {_missing()}", pytrace=False)
    print(f"\n*** SKIPPING the console browser tests: {_missing()} ***")
    pytestmark = pytest.mark.skip(reason=_missing())

CONFIG = f"""
[[accounts]]
appid = "1250000000"
secret_id = "{SECRET_ID}"
secret_key = "{SECRET_KEY}"

[[accounts]]
appid = "1250000001"
secret_id = "{OTHER_ID}"
secret_key = "{OTHER_KEY}"

[console]
password = "{CONSOLE_PASSWORD}"
account = "{OTHER_ID}"

[[buckets]]
name = "{BUCKET}"
region = "{REGION}"

[[buckets]]
name = "{OTHER_BUCKET}"
region = "{REGION}"

[[buckets]]
name = "{ALT_BUCKET}"
region = "{REGION}"
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server with two accounts (two APPIDs, a bucket each) and fast heartbeats."""
    data = tmp_path_factory.mktemp("console")
    (data / "queues").mkdir()
    (data / "queues" / f"{BUCKET}.toml").write_text('[[queues]]\nname = "urgent"\nmax_concurrent = 2\n')
    (data / "ci-jobs.toml").write_text(CONFIG)
    env = {"CI_JOBS_SCHEDULER_HEARTBEAT_SECONDS": "0.3", "CI_JOBS_SCHEDULER_WORKERS": "2",
           "CI_JOBS_SCHEDULER_POLL_SECONDS": "0.5", "CI_JOBS_SCHEDULER_STOP_GRACE_SECONDS": "1",
           "CI_JOBS_CALLBACKS_ALLOW_LOOPBACK": "1", "CI_JOBS_CALLBACKS_RETRY_BASE": "0.3",
           "CI_JOBS_CALLBACKS_POLL_SECONDS": "0.2", "CI_JOBS_CALLBACKS_TIMEOUT": "2",
           "CI_JOBS_CALLBACKS_MAX_ATTEMPTS": "3"}
    settings = config.load(data / "ci-jobs.toml", {"data_dir": str(data), "queues_dir": str(data / "queues")},
                           environ=env)
    srv = ServerThread(lambda: create_app(settings)).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def seeded(server: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Clips in the bucket, and HLS and DASH transcodes and a snapshot+sprite job submitted through the CI API."""
    client = sdk(server.port)
    folder = tmp_path_factory.mktemp("clips")
    short = clip_bytes(folder / "short.mp4", seconds=2.0)
    longer = clip_bytes(folder / "long.mp4", seconds=6.0, size="640x360")
    client.put_object(Bucket=BUCKET, Key="in/short.mp4", Body=short)
    client.put_object(Bucket=BUCKET, Key="in/long.mp4", Body=longer)
    hls = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "in/short.mp4", {
        "TemplateId": "t0e634622e8dfb49339ba478d60ddc7188",
        "Output": {"Region": REGION, "Bucket": BUCKET, "Object": "out/hls/short.m3u8"}}))
    dash = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Transcode", "in/short.mp4", {
        "Transcode": {"Container": {"Format": "dash", "ClipConfig": {"Duration": "1"}},
                      "Video": {"Codec": "H.264", "Width": "320"}, "Audio": {"Codec": "aac"}},
        "Output": {"Region": REGION, "Bucket": BUCKET, "Object": "out/dash/short.mpd"}}))
    snap = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body("Snapshot", "in/short.mp4", {
        "Snapshot": {"Mode": "Interval", "Start": "0", "TimeInterval": "0.5", "Count": "4",
                     "SnapshotOutMode": "SnapshotAndSprite",
                     "SpriteSnapshotConfig": {"CellWidth": "80", "CellHeight": "60", "Columns": "2", "Lines": "2",
                                                  "Padding": "2", "Margin": "2", "Color": "Black"}},
        "Output": {"Region": REGION, "Bucket": BUCKET, "Object": "out/snap/s-${Number}.jpg",
                   "SpriteObject": "out/snap/sprite-${Number}.jpg"}}))
    return {"hls": hls["JobsDetail"][0]["JobId"], "snap": snap["JobsDetail"][0]["JobId"],
            "dash": dash["JobsDetail"][0]["JobId"]}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    assert sync_playwright is not None
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                               args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the screenshots go (printed, and copied to /tmp/console-shots at the end)."""
    folder = tmp_path_factory.mktemp("console-shots")
    yield folder
    shutil.rmtree(SHOTS, ignore_errors=True)
    shutil.copytree(folder, SHOTS)
    print(f"\nconsole screenshots: {folder} (copied to {SHOTS}): {sorted(p.name for p in folder.iterdir())}")


def sign_in(browser: Browser, server: ServerThread, secret_id: str, secret_key: str, width: int = 1366) -> Page:
    """A new context signed in through the page's form."""
    page = browser.new_context(viewport={"width": width, "height": 900}, base_url=server.endpoint).new_page()
    page.goto("/")  # a browser's GET / on a bare host lands on the console
    page.fill("#secretId", secret_id)
    page.fill("#secretKey", secret_key)
    page.click("#signin button[type=submit]")
    expect(page.locator("#tasks")).to_be_visible()
    return page


@pytest.fixture(scope="module")
def page(browser: Browser, server: ServerThread, seeded: dict[str, str]) -> Page:
    """The first account's signed-in page."""
    return sign_in(browser, server, SECRET_ID, SECRET_KEY)


def api(page: Page, method: str, path: str, body: Any = None, csrf: bool = True) -> Any:
    """A console API call from the page's session (with its CSRF token unless `csrf` is False)."""
    me = page.request.get("/console/api/me").json()
    headers = {"X-CSRF-Token": me["Csrf"]} if csrf else {}
    r = page.request.fetch("/console/api" + path, method=method, headers=headers,
                           data=json.dumps(body) if body is not None else None)
    return r


def wait_task(page: Page, task_id: str, status: str, timeout: float = 60) -> None:
    """Wait (without reloading) until the list row of `task_id` shows `status`."""
    expect(page.locator(f"tr[data-task='{task_id}'] td.status")).to_have_text(status, timeout=timeout * 1000)


def queue_row(page: Page, name: str) -> Any:
    return page.locator(f"#queues tr[data-name='{name}']")


def test_sign_in_refuses_a_wrong_key_and_root_stays_cos(server: ServerThread, browser: Browser) -> None:
    ctx = browser.new_context(base_url=server.endpoint)
    r = ctx.request.post("/console/api/signin", data=json.dumps({"secretId": SECRET_ID, "secretKey": "nope"}),
                         headers={"Content-Type": "application/json"})
    assert r.status == 401
    assert ctx.request.get("/console/api/tasks").status == 401
    sdk_root = ctx.request.get("/", headers={"Accept": "*/*"})  # not a browser page: COS's XML answer
    assert sdk_root.status == 403 and b"<Error>" in sdk_root.body()
    ctx.close()


def test_create_from_the_page_and_watch_it_complete_live(page: Page, server: ServerThread, shots: Path) -> None:
    queue_row(page, "queue-1").locator(".qtoggle").click()  # pause: the new task must wait
    expect(queue_row(page, "queue-1").locator(".qstate")).to_have_text("Paused")
    page.click("#create-box summary")
    page.select_option("#c-input", "in/long.mp4")
    page.select_option("#c-tag", "Transcode")
    page.select_option("#c-template", "t0852e7ff4acd4484e99ba104f3840d3cb")  # H264-MP4-高清 (1280 wide)
    page.fill("#c-output", "console/out/long-720.mp4")
    page.click("#c-submit")
    expect(page.locator("#created")).to_have_text(re.compile(r"^k[0-9a-f]{32}$"), timeout=10_000)
    task_id = page.locator("#created").inner_text()
    page.evaluate("""id => { window.seen = []; const note = () => { const c = document.querySelector(
        `tr[data-task='${id}'] td.status`);
        if (c && window.seen.at(-1) !== c.textContent) window.seen.push(c.textContent); };
        note(); new MutationObserver(note).observe(document.querySelector('#tasks tbody'),
        {childList: true, subtree: true, characterData: true}); }""", task_id)
    wait_task(page, task_id, "Waiting")
    loaded = page.evaluate("document.body.dataset.loaded")
    queue_row(page, "queue-1").locator(".qtoggle").click()  # resume from the page
    expect(queue_row(page, "queue-1").locator(".qstate")).to_have_text("Active")
    wait_task(page, task_id, "Completed", timeout=90)
    seen = page.evaluate("window.seen")
    assert seen[0] == "Waiting" and seen[-1] == "Completed" and "In progress" in seen, seen
    assert page.evaluate("document.body.dataset.loaded") != loaded  # re-rendered in place, never reloaded
    assert page.evaluate("window.seen !== undefined")  # the same document all along
    page.screenshot(path=str(shots / "list.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "list-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})


def _task_of(page: Page, job_id: str) -> str:
    body = page.request.get(f"/console/api/tasks?bucket={BUCKET}&search={job_id}").json()
    assert body["Tasks"], body
    return str(body["Tasks"][0]["TaskId"])


def test_details_play_hls_and_view_sprite(page: Page, seeded: dict[str, str], shots: Path) -> None:
    task = _task_of(page, seeded["hls"])
    page.goto(f"/console/tasks/{BUCKET}/{task}")
    expect(page.locator("#task-status")).to_have_text("Completed", timeout=60_000)
    page.locator("tr[data-sub='1'] .sub-details").click()
    expect(page.locator("tr.sub-detail pre").first).to_contain_text("TemplateId")
    page.locator("tr[data-sub='1'] .view").click()
    _plays(page)
    page.screenshot(path=str(shots / "detail-hls.png"), full_page=True)
    with page.expect_download() as caught:  # the playlist with its segments, as one zip
        page.locator("tr[data-sub='1'] a.package").click()
    package = zipfile.ZipFile(io.BytesIO(Path(caught.value.path()).read_bytes()))
    playlist = package.read("out/hls/short.m3u8").decode()
    segments = [f"out/hls/{line}" for line in playlist.splitlines() if line and not line.startswith("#")]
    assert segments and sorted(package.namelist()) == sorted(["out/hls/short.m3u8", *segments])
    snap = _task_of(page, seeded["snap"])
    page.goto(f"/console/tasks/{BUCKET}/{snap}")
    expect(page.locator("#task-status")).to_have_text("Completed", timeout=60_000)
    page.locator("tr[data-sub='1'] .view").click()
    sprite = page.locator("#player img[data-role='sprite']").first
    expect(sprite).to_be_visible()
    page.wait_for_function("() => { const i = document.querySelector(\"#player img[data-role='sprite']\"); "
                           "return i && i.complete && i.naturalWidth > 0; }")
    page.screenshot(path=str(shots / "detail-snapshots.png"), full_page=True)
    with page.expect_download() as caught:  # the browser's own download of the link
        page.locator("tr[data-sub='1'] a.zip").click()
    download = caught.value
    assert download.suggested_filename == f"{seeded['snap']}.zip"
    archive = zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes()))
    names = archive.namelist()
    assert sorted(n for n in names if "/s-" in n) == [f"out/snap/s-{i}.jpg" for i in range(4)], names
    assert any("sprite" in n for n in names), names
    for n in names:
        assert archive.read(n)[:2] == b"\xff\xd8"  # JPEGs
    sprite = next(n for n in names if "sprite" in n)
    assert archive.read(sprite) == page.request.get(f"/console/api/object/{BUCKET}?key={sprite}").body()


def _plays(page: Page) -> None:
    page.wait_for_selector("#media")
    page.evaluate("() => { const v = document.querySelector('#media'); v.muted = true; v.play(); }")
    page.wait_for_function("() => { const v = document.querySelector('#media'); "
                           "return v.error || v.currentTime > 1; }", timeout=30_000)
    assert page.evaluate("document.querySelector('#media').error") is None


def test_play_the_created_mp4_output(page: Page) -> None:
    body = page.request.get(f"/console/api/tasks?bucket={BUCKET}&tag=Transcode&status=Completed").json()
    task = next(t for t in body["Tasks"] if t["Input"] == "in/long.mp4")
    page.goto(f"/console/tasks/{BUCKET}/{task['TaskId']}")
    page.locator("tr[data-sub='1'] .view").click()
    _plays(page)


def test_end_a_waiting_task_and_restart_a_completed_one(page: Page) -> None:
    page.goto("/console/")
    queue_row(page, "queue-1").locator(".qtoggle").click()
    expect(queue_row(page, "queue-1").locator(".qstate")).to_have_text("Paused")
    created = api(page, "POST", f"/tasks/{BUCKET}", {"tag": "MediaInfo", "input": "in/short.mp4"}).json()
    waiting = created["TaskId"]
    page.click("#f-apply")
    wait_task(page, waiting, "Waiting")
    page.locator(f"tr[data-task='{waiting}'] button.end").click()
    wait_task(page, waiting, "Completed")
    detail = page.request.get(f"/console/api/tasks/{BUCKET}/{waiting}").json()
    assert [s["Status"] for s in detail["SubtaskList"]] == ["Cancelled"]
    queue_row(page, "queue-1").locator(".qtoggle").click()
    expect(queue_row(page, "queue-1").locator(".qstate")).to_have_text("Active")
    page.locator(f"tr[data-task='{waiting}'] button.restart").click()
    expect(page.locator("#toast")).to_contain_text("Restarted as")
    new_id = page.locator("#toast").inner_text().split()[-1]
    wait_task(page, new_id, "Completed")
    again = page.request.get(f"/console/api/tasks/{BUCKET}/{new_id}").json()
    assert again["Detail"]["RestartOf"] == waiting and again["SubtaskList"][0]["Status"] == "Successful"


def test_search_and_filter(page: Page, seeded: dict[str, str]) -> None:
    page.goto("/console/")
    task = _task_of(page, seeded["snap"])
    page.fill("#f-search", task)
    page.click("#f-apply")
    expect(page.locator("#tasks tbody tr[data-task]")).to_have_count(1)
    page.fill("#f-search", "")
    page.select_option("#f-tag", "Snapshot")
    page.click("#f-apply")
    expect(page.locator(f"#tasks tbody tr[data-task='{task}']")).to_have_count(1)
    rows = page.locator("#tasks tbody tr[data-task]")
    assert rows.count() == 1
    page.select_option("#f-tag", "")
    page.select_option("#f-status", "Waiting")
    page.click("#f-apply")
    expect(page.locator("#tasks tbody tr[data-task]")).to_have_count(0)


def test_a_second_account_sees_only_its_own(browser: Browser, server: ServerThread, page: Page) -> None:
    other = sign_in(browser, server, OTHER_ID, OTHER_KEY, width=390)
    expect(other.locator("#bucket")).to_have_value(OTHER_BUCKET)
    expect(other.locator("#tasks tbody tr[data-task]")).to_have_count(0)
    assert other.request.get(f"/console/api/tasks?bucket={BUCKET}").status == 403
    mine = page.request.get(f"/console/api/tasks?bucket={BUCKET}").json()["Tasks"][0]["TaskId"]
    assert other.request.get(f"/console/api/tasks/{BUCKET}/{mine}").status == 403
    assert other.request.get(f"/console/api/object/{BUCKET}?key=in/short.mp4").status == 403
    other.context.close()


def test_state_changes_need_the_csrf_token(page: Page) -> None:
    queues = page.request.get(f"/console/api/queues/{BUCKET}").json()["Queues"]
    target = f"/queues/{BUCKET}/{queues[0]['Id']}"
    refused = api(page, "POST", target, {"state": "Paused"}, csrf=False)
    assert refused.status == 403 and refused.json()["error"]["code"] == "CsrfRefused"
    forged = page.request.fetch("/console/api" + target, method="POST", data=json.dumps({"state": "Paused"}),
                                headers={"X-CSRF-Token": "forged"})
    assert forged.status == 403
    assert page.request.get(f"/console/api/queues/{BUCKET}").json()["Queues"][0]["State"] == "Active"
    cookie = next(c for c in page.context.cookies() if c["name"] == "ci_jobs_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


@pytest.mark.parametrize("body", [b"{", b"[" * 100_000 + b"]" * 100_000, b"[1, 2]", b"\xff\xfe{"],
                         ids=["cut", "nested-too-deep", "array", "not-utf-8"])
def test_bodies_that_are_no_json_object_are_invalid_argument(page: Page, body: bytes) -> None:
    """The sign-in and the state-changing calls answer 400 InvalidArgument, never an internal error."""
    signin = page.request.fetch("/console/api/signin", method="POST", data=body,
                                headers={"Content-Type": "application/json"})
    assert signin.status == 400 and signin.json()["error"]["code"] == "InvalidArgument", signin.text()
    queues = page.request.get(f"/console/api/queues/{BUCKET}").json()["Queues"]
    me = page.request.get("/console/api/me").json()
    change = page.request.fetch(f"/console/api/queues/{BUCKET}/{queues[0]['Id']}", method="POST", data=body,
                                headers={"X-CSRF-Token": me["Csrf"], "Content-Type": "application/json"})
    assert change.status == 400 and change.json()["error"]["code"] == "InvalidArgument", change.text()


@pytest.mark.parametrize("body", [{"action": "end", "ids": 5}, {"action": "end", "ids": [1, 2]},
                                  {"action": "end", "all": True, "filter": "x"}])
def test_bulk_with_misshapen_ids_or_filter_is_invalid_argument(page: Page, body: dict[str, Any]) -> None:
    r = api(page, "POST", f"/bulk/{BUCKET}", body)
    assert r.status == 400 and r.json()["error"]["code"] == "InvalidArgument", r.text()


def test_the_chart_is_our_own_svg(page: Page) -> None:
    page.goto("/console/")
    expect(page.locator("#chart svg rect.ok").first).to_be_attached()


class FlakyListener:
    """A callback listener on this machine: POST /fail-<n>/... answers HTTP 500 to its first n requests."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: dict[str, int] = {}
        self._thread: ServerThread | None = None

    def url(self, failures: int, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/fail-{failures}/{name}"

    def start(self) -> FlakyListener:
        from aiohttp import web  # noqa: PLC0415

        async def receive(request: web.Request) -> web.Response:
            await request.read()
            seen = self.received[request.path] = self.received.get(request.path, 0) + 1
            failures = int(request.path.split("/")[1].removeprefix("fail-"))
            return web.Response(status=500, text="not yet") if seen <= failures else web.Response(text="ok")

        def factory() -> web.Application:
            app = web.Application()
            app.router.add_post("/{tail:.*}", receive)
            return app

        self._thread = ServerThread(factory, port=self.port).start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()


@pytest.fixture(scope="module")
def listener() -> Iterator[FlakyListener]:
    flaky = FlakyListener().start()
    yield flaky
    flaky.stop()


def _open_sub_details(page: Page, task: str) -> None:
    page.goto(f"/console/tasks/{BUCKET}/{task}")
    expect(page.locator("#task-status")).to_have_text("Completed", timeout=60_000)
    page.locator("tr[data-sub='1'] .sub-details").click()


def test_subtask_details_show_callbacks_with_their_attempts(page: Page, server: ServerThread, listener: FlakyListener,
                                                            shots: Path) -> None:
    client = sdk(server.port)
    once = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body(
        "MediaInfo", "in/short.mp4", {}, CallBack=listener.url(1, "once")))["JobsDetail"][0]["JobId"]
    dead = client.ci_create_media_jobs(Bucket=BUCKET, Jobs=job_body(
        "MediaInfo", "in/short.mp4", {}, CallBack=listener.url(3, "dead")))["JobsDetail"][0]["JobId"]
    # a listener that fails first then succeeds: two attempts, delivered, the first failure kept as last error
    _open_sub_details(page, _task_of(page, once))
    row = page.locator("table.callbacks tbody tr").first
    expect(row.locator(".cb-state")).to_have_text("Delivered", timeout=30_000)  # followed live, no reload
    expect(row.locator(".cb-attempts")).to_have_text("2")
    expect(row.locator(".cb-error")).to_have_text("callback answered HTTP 500")
    expect(row.locator(".cb-target")).to_contain_text(listener.url(1, "once"))
    assert listener.received["/fail-1/once"] == 2
    page.screenshot(path=str(shots / "detail-callbacks.png"), full_page=True)
    # three failures with max_attempts 3: a dead letter, re-sent from the page, then delivered
    _open_sub_details(page, _task_of(page, dead))
    row = page.locator("table.callbacks tbody tr").first
    expect(row.locator(".cb-state")).to_have_text("Dead letter", timeout=30_000)
    expect(row.locator(".cb-attempts")).to_have_text("3")
    expect(row.locator(".cb-error")).to_have_text("callback answered HTTP 500")
    assert listener.received["/fail-3/dead"] == 3
    row.locator(".cb-resend").click()
    expect(row.locator(".cb-state")).to_have_text("Delivered", timeout=30_000)
    expect(row.locator(".cb-attempts")).to_have_text("1")
    assert listener.received["/fail-3/dead"] == 4
    detail = page.request.get(f"/console/api/tasks/{BUCKET}/{_task_of(page, dead)}").json()
    (cb,) = detail["SubtaskList"][0]["Callbacks"]
    assert (cb["State"], cb["Attempts"], cb["Type"]) == ("Delivered", 1, "Url") and cb["DeliveredAt"]
    resent = api(page, "POST", f"/callbacks/{BUCKET}/{dead}/{cb['Id']}/resend")
    assert resent.status == 400 and "no dead letter" in resent.json()["error"]["message"]


def test_play_a_dash_output(page: Page, seeded: dict[str, str], shots: Path) -> None:
    task = _task_of(page, seeded["dash"])
    page.goto(f"/console/tasks/{BUCKET}/{task}")
    expect(page.locator("#task-status")).to_have_text("Completed", timeout=60_000)
    expect(page.locator("tr[data-sub='1'] td.mono")).to_contain_text("out/dash/short.mpd")
    page.locator("tr[data-sub='1'] .view").click()
    expect(page.locator("#media")).to_have_attribute("data-kind", "dash")
    _plays(page)
    assert page.evaluate("document.querySelector('#media').duration") > 1.5  # both seconds of the clip
    page.screenshot(path=str(shots / "detail-dash.png"), full_page=True)
    with page.expect_download() as caught:  # the manifest with its segments, as one zip
        page.locator("tr[data-sub='1'] a.package").click()
    names = zipfile.ZipFile(io.BytesIO(Path(caught.value.path()).read_bytes())).namelist()
    assert "out/dash/short.mpd" in names and sum(n.endswith(".m4s") for n in names) >= 4, names


def test_sign_in_with_the_console_password(browser: Browser, server: ServerThread) -> None:
    other = browser.new_context(base_url=server.endpoint).new_page()
    other.goto("/console/")
    other.fill("#consolePassword", "not-the-password")
    other.click("#signin-password button[type=submit]")
    expect(other.locator("#toast")).to_contain_text("The console password is wrong.")
    other.fill("#consolePassword", CONSOLE_PASSWORD)
    other.click("#signin-password button[type=submit]")
    expect(other.locator("#tasks")).to_be_visible()
    expect(other.locator("#who")).to_have_text(f"APPID 1250000001 · {OTHER_ID}")  # [console] account
    expect(other.locator("#bucket")).to_have_value(OTHER_BUCKET)
    assert other.request.get(f"/console/api/tasks?bucket={BUCKET}").status == 403
    other.context.close()


def test_bulk_end_and_restart_selected_and_all_filtered(page: Page) -> None:
    page.goto("/console/")
    queue_row(page, "queue-1").locator(".qtoggle").click()
    expect(queue_row(page, "queue-1").locator(".qstate")).to_have_text("Paused")
    a, b, c = (api(page, "POST", f"/tasks/{BUCKET}", {"tag": "MediaInfo", "input": "in/short.mp4"}).json()["TaskId"]
               for _ in range(3))
    page.click("#f-apply")
    for t in (a, b, c):
        wait_task(page, t, "Waiting")
    page.check(f"tr[data-task='{a}'] input.sel")
    page.check(f"tr[data-task='{b}'] input.sel")
    page.click("#bulk-end")
    expect(page.locator("#toast")).to_have_text("end: 2 done, 0 refused")
    wait_task(page, a, "Completed")
    wait_task(page, b, "Completed")
    wait_task(page, c, "Waiting")
    page.select_option("#f-status", "Waiting")
    page.click("#f-apply")
    expect(page.locator("#tasks tbody tr[data-task]")).to_have_count(1)
    page.once("dialog", lambda d: d.accept())  # "every task matching the filter" asks first
    page.click("#bulk-end-all")
    expect(page.locator("#toast")).to_have_text("end: 1 done, 0 refused")
    expect(page.locator("#tasks tbody tr[data-task]")).to_have_count(0)
    for t in (a, b, c):
        sub = page.request.get(f"/console/api/tasks/{BUCKET}/{t}").json()["SubtaskList"]
        assert [s["Status"] for s in sub] == ["Cancelled"], t
    queue_row(page, "queue-1").locator(".qtoggle").click()
    expect(queue_row(page, "queue-1").locator(".qstate")).to_have_text("Active")
    page.select_option("#f-status", "")
    page.click("#f-apply")
    page.check(f"tr[data-task='{a}'] input.sel")
    page.check(f"tr[data-task='{c}'] input.sel")
    page.click("#bulk-restart")
    expect(page.locator("#toast")).to_have_text("restart: 2 done, 0 refused")
    newest = page.request.get(f"/console/api/tasks?bucket={BUCKET}&tag=MediaInfo").json()["Tasks"][:2]
    restarted = {page.request.get(f"/console/api/tasks/{BUCKET}/{t['TaskId']}").json()["Detail"]["RestartOf"]: t
                 for t in newest}
    assert set(restarted) == {a, c}
    for t in restarted.values():
        wait_task(page, t["TaskId"], "Completed")
    # all filtered: the filter the page shows is the one the server applies (a search for one task)
    page.fill("#f-search", b)
    page.click("#f-apply")
    expect(page.locator("#tasks tbody tr[data-task]")).to_have_count(1)
    page.once("dialog", lambda d: d.accept())
    page.click("#bulk-restart-all")
    expect(page.locator("#toast")).to_have_text("restart: 1 done, 0 refused")
    page.once("dialog", lambda d: d.dismiss())  # a dismissed confirmation changes nothing
    page.click("#bulk-restart-all")
    page.fill("#f-search", "")
    page.click("#f-apply")
    newest = page.request.get(f"/console/api/tasks?bucket={BUCKET}&tag=MediaInfo").json()["Tasks"]
    of_b = [t for t in newest if page.request.get(f"/console/api/tasks/{BUCKET}/{t['TaskId']}").json()
            ["Detail"].get("RestartOf") == b]
    assert len(of_b) == 1
    wait_task(page, of_b[0]["TaskId"], "Completed")


def test_max_concurrent_from_the_page(page: Page) -> None:
    page.goto("/console/")
    box = queue_row(page, "queue-1").locator("input.qmax")
    box.fill("4")
    box.press("Enter")
    box.blur()
    expect(queue_row(page, "queue-1").locator("input.qmax")).to_have_value("4")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        queues = page.request.get(f"/console/api/queues/{BUCKET}").json()["Queues"]
        if next(q for q in queues if q["Name"] == "queue-1")["MaxConcurrent"] == 4:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"MaxConcurrent was not changed: {queues}")
    page.reload()
    expect(queue_row(page, "queue-1").locator("input.qmax")).to_have_value("4")
    box = queue_row(page, "queue-1").locator("input.qmax")
    box.fill("0")
    box.blur()
    expect(page.locator("#toast")).to_contain_text("maxConcurrent must be an integer between 1 and 1000")
    expect(queue_row(page, "queue-1").locator("input.qmax")).to_have_value("4")
    box = queue_row(page, "queue-1").locator("input.qmax")
    box.fill("10")
    box.blur()
    expect(queue_row(page, "queue-1").locator("input.qmax")).to_have_value("10")


def test_the_page_itself_cannot_change_state_without_its_token(page: Page) -> None:
    page.goto("/console/")
    expect(page.locator("#tasks")).to_be_visible()
    queues = page.request.get(f"/console/api/queues/{BUCKET}").json()["Queues"]
    status = page.evaluate("""async (path) => { const r = await fetch(path, {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({state: 'Paused'})});
        return [r.status, (await r.json()).error.code]; }""", f"/console/api/queues/{BUCKET}/{queues[0]['Id']}")
    assert status == [403, "CsrfRefused"]
    assert page.request.get(f"/console/api/queues/{BUCKET}").json()["Queues"][0]["State"] == "Active"


def _local_time(page: Page, offset_seconds: float) -> str:
    """A datetime-local input's value (the browser's time zone) `offset_seconds` from now."""
    return str(page.evaluate("""(off) => { const d = new Date(Date.now() + off * 1000);
        d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 16); }""",
                             offset_seconds))


def test_filter_by_queue_time_range_and_bucket(page: Page, server: ServerThread) -> None:
    page.goto("/console/")
    urgent = page.locator("#queues tr[data-name='urgent']").get_attribute("data-queue")
    assert urgent
    page.click("#create-box summary")  # a task created from the page into the second queue
    page.select_option("#c-input", "in/short.mp4")
    page.select_option("#c-tag", "MediaInfo")
    page.select_option("#c-queue", urgent)
    page.click("#c-submit")
    expect(page.locator("#created")).to_have_text(re.compile(r"^k[0-9a-f]{32}$"), timeout=10_000)
    task = page.locator("#created").inner_text()
    wait_task(page, task, "Completed")
    rows = page.locator("#tasks tbody tr[data-task]")
    page.select_option("#f-queue", urgent)
    page.click("#f-apply")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-task", task)
    page.select_option("#f-queue", label="queue-1")
    page.click("#f-apply")
    expect(page.locator(f"#tasks tbody tr[data-task='{task}']")).to_have_count(0)
    assert rows.count() > 1
    page.select_option("#f-queue", "")
    page.fill("#f-from", _local_time(page, 3600))  # created from an hour ahead: nothing
    page.click("#f-apply")
    expect(page.locator("#tasks tbody td.muted")).to_have_text("No tasks match.")
    expect(rows).to_have_count(0)
    page.fill("#f-from", _local_time(page, -3600))
    page.fill("#f-to", _local_time(page, 3600))
    page.click("#f-apply")
    expect(page.locator(f"#tasks tbody tr[data-task='{task}']")).to_have_count(1)
    page.fill("#f-to", _local_time(page, -3600))  # up to an hour ago: nothing
    page.click("#f-apply")
    expect(rows).to_have_count(0)
    # the bucket selector: the account's other bucket lists only its own tasks
    client = sdk(server.port)
    client.put_object(Bucket=ALT_BUCKET, Key="in/alt.mp4", Body=page.request.get(
        f"/console/api/object/{BUCKET}?key=in/short.mp4").body())
    alt_job = client.ci_create_media_jobs(Bucket=ALT_BUCKET, Jobs=job_body("MediaInfo", "in/alt.mp4", {}))
    page.select_option("#bucket", ALT_BUCKET)
    expect(page.locator("#bucket")).to_have_value(ALT_BUCKET)
    expect(rows).to_have_count(1)
    alt_task = page.request.get(f"/console/api/tasks?bucket={ALT_BUCKET}").json()["Tasks"][0]
    assert alt_task["TaskId"] == rows.first.get_attribute("data-task")
    assert alt_job["JobsDetail"][0]["JobId"] in page.request.get(
        f"/console/api/tasks/{ALT_BUCKET}/{alt_task['TaskId']}").text()
    page.select_option("#bucket", BUCKET)
    expect(page.locator("#bucket")).to_have_value(BUCKET)
    expect(page.locator(f"#tasks tbody tr[data-task='{task}']")).to_have_count(1)
