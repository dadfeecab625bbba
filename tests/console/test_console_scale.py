"""The console's list with 10,000 tasks in the SQLite store: each page answers fast, whatever the filter.

Prints the measured times (the README's Console section quotes them). No workers run: the tasks are
committed as stored rows, 9,950 finished and 50 waiting ones the oldest (the worst case for a scan
of the history; the Waiting filter starts from the unfinished jobs instead).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ci_jobs import ids
from ci_jobs.domain.tasks import TASK_ID_PREFIX
from ci_jobs.server import NODE, create_app
from ci_jobs.store import JobRecord, JobState, TaskRecord

from ..conftest import BUCKET, SECRET_ID, SECRET_KEY, make_settings
from ..harness import ServerThread

TASKS, WAITING = 10_000, 50
LIMIT_MS = 1000.0  # a page of the list must answer within this even on a loaded 2-core machine


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server without workers whose bucket holds 10,000 tasks."""
    data: Path = tmp_path_factory.mktemp("console-scale")
    (data / "queues").mkdir()
    srv = ServerThread(lambda: create_app(make_settings(data, workers_enabled=False))).start()
    assert srv.app is not None
    store = srv.app[NODE].store
    queue = srv.call(store.queues(BUCKET))[0].queue_id
    now = time.time() - 7200
    for start in range(0, TASKS, 500):
        batch = []
        for n in range(start, start + 500):
            waiting = n < WAITING
            task_id, job_id = ids.new_id(TASK_ID_PREFIX), ids.new_id("j")
            tag = "Snapshot" if n % 10 == 0 else "Transcode"
            job = JobRecord(job_id=job_id, bucket=BUCKET, queue_id=queue, tag=tag,
                            state=JobState.SUBMITTED if waiting else JobState.SUCCESS, level=0, created=now + n * 0.5,
                            spec={"Tag": tag, "Input": {"Object": f"in/{n}.mp4"}, "Operation": {}},
                            ended=None if waiting else now + n * 0.5 + 1, started=None if waiting else now + n * 0.5,
                            task_id=task_id)
            task = TaskRecord(task_id=task_id, bucket=BUCKET, kind="Request", origin="ci", created=job.created,
                              job_ids=(job_id,))
            batch.append((job, task))
        srv.call(_insert_all(store, batch))
    yield srv
    srv.stop()


async def _insert_all(store: Any, batch: list[tuple[JobRecord, TaskRecord]]) -> None:
    """Concurrent inserts: the SQLite store group-commits them."""
    await asyncio.gather(*(store.insert_jobs([job], task) for job, task in batch))


def test_list_pages_stay_fast_with_10000_tasks(big: ServerThread) -> None:
    http = requests.Session()
    r = http.post(big.endpoint + "/console/api/signin", json={"secretId": SECRET_ID, "secretKey": SECRET_KEY})
    assert r.status_code == 200
    cases = {"first page": "", "Completed": "&status=Completed", "Tag Snapshot": "&tag=Snapshot",
             "Waiting (from the backlog)": "&status=Waiting", "In progress (none)": "&status=In progress"}
    report = []
    for name, extra in cases.items():
        times, body = [], {}
        for _ in range(5):
            started = time.perf_counter()
            r = http.get(f"{big.endpoint}/console/api/tasks?bucket={BUCKET}{extra}")
            times.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200
            body = r.json()
        median = statistics.median(times)
        report.append(f"{name}: median {median:.0f} ms over 5 (scanned {body['Scanned']}, {len(body['Tasks'])} shown)")
        assert median < LIMIT_MS, report[-1]
        if name == "Waiting (from the backlog)":
            assert len(body["Tasks"]) == 20 and all(t["Status"] == "Waiting" for t in body["Tasks"])
    chart = []
    for _ in range(5):
        started = time.perf_counter()
        r = http.get(f"{big.endpoint}/console/api/chart/{BUCKET}")
        chart.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200 and r.text.startswith("<svg")
    report.append(f"last hour's chart (counted in SQL): median {statistics.median(chart):.0f} ms over 5")
    assert statistics.median(chart) < LIMIT_MS, report[-1]
    shell = time.perf_counter()
    assert http.get(big.endpoint + "/console/").status_code == 200
    report.append(f"page shell: {(time.perf_counter() - shell) * 1000:.0f} ms")
    print("\nconsole list with 10,000 tasks:\n  " + "\n  ".join(report))


def test_the_list_page_loads_in_the_browser_with_10000_tasks(big: ServerThread, tmp_path: Path) -> None:
    """Chromium opens the list page (shell, script, /me, options, queues, chart and the first page of tasks)
    and pages and filters it: the times printed are the README's page load figures."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import expect, sync_playwright  # noqa: PLC0415
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not chromium.exists():
        why = "playwright is not installed" if sync_playwright is None else "no /usr/bin/chromium"
        if os.environ.get("CI"):
            pytest.fail(f"the console's browser scale test cannot run under CI: {why}")
        print(f"\n*** SKIPPING the console's browser scale test: {why} ***")
        pytest.skip(why)
    report = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True, args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=big.endpoint).new_page()
        page.goto("/console/")
        page.fill("#secretId", SECRET_ID)
        page.fill("#secretKey", SECRET_KEY)
        page.click("#signin button[type=submit]")
        rows = page.locator("#tasks tbody tr[data-task]")
        expect(rows).to_have_count(20, timeout=30_000)
        loads = []
        for _ in range(3):
            started = time.perf_counter()
            page.goto("/console/")
            expect(rows).to_have_count(20, timeout=30_000)
            page.wait_for_function("() => document.querySelector('#chart svg') !== null")
            loads.append((time.perf_counter() - started) * 1000)
        report.append(f"list page load (navigation to 20 rows, chart and queues drawn): median "
                      f"{statistics.median(loads):.0f} ms over 3")
        first = rows.first.get_attribute("data-task")
        started = time.perf_counter()
        page.click("#next")
        expect(page.locator("#pageno")).to_have_text("page 2")
        expect(rows.first).not_to_have_attribute("data-task", first or "")
        report.append(f"next page: {(time.perf_counter() - started) * 1000:.0f} ms")
        page.select_option("#f-status", "Waiting")
        started = time.perf_counter()
        page.click("#f-apply")
        expect(page.locator("#tasks tbody tr[data-status='Completed']")).to_have_count(0)
        expect(page.locator("#tasks tbody tr[data-status='Waiting']")).to_have_count(20)
        report.append(f"Waiting filter: {(time.perf_counter() - started) * 1000:.0f} ms")
        report.append(f"server: {page.locator('#timing').inner_text()}")
        page.select_option("#f-status", "")
        page.click("#f-apply")
        expect(page.locator("#tasks tbody tr[data-status='Completed']")).to_have_count(20)
        shot = Path("/tmp/console-shots")
        shot.mkdir(exist_ok=True)
        page.screenshot(path=str(shot / "list-10000.png"), full_page=True)
        browser.close()
    print("\nconsole list page in Chromium with 10,000 tasks:\n  " + "\n  ".join(report))
