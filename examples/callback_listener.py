"""A minimal callback listener: prints every TaskFinish notification ci-jobs POSTs to it.

Run: `.venv/bin/python examples/callback_listener.py 9000`, then submit jobs with
`<CallBack>http://127.0.0.1:9000/ci</CallBack>` (and `<CallBackFormat>JSON</CallBackFormat>` for JSON).
Callbacks to this machine are refused unless the server allows them: start it with
`CI_JOBS_CALLBACKS_ALLOW_LOOPBACK=1 make run` (or `[callbacks] allow_loopback = true`).
"""

from __future__ import annotations

import sys

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    """Print the body and answer 200 so ci-jobs stops retrying."""
    body = await request.text()
    print(f"--- {request.headers.get('Content-Type')} from {request.remote}\n{body}\n", flush=True)
    return web.Response(text="ok")


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    app = web.Application()
    app.router.add_post("/{tail:.*}", receive)
    web.run_app(app, host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
