"""The console's pages and the calls that need no account yet: sign-in, sign-out, who am I.

The pages are one HTML shell of this package's own (static/), whose script renders the list, the
details and the sign-in form; no third-party front-end code is served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from ...errors import InvalidArgument, NoSuchResource
from ..keys import SETTINGS
from . import session
from .body import json_object
from .state import Console

STATIC = Path(__file__).parent / "static"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}
SHELL_PATHS = ("/console", "/console/", "/console/signin")
CSP = ("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
       "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


async def serve(request: web.Request) -> web.StreamResponse:
    """GET a page (the shell) or a static file."""
    path = request.path
    if request.method not in ("GET", "HEAD"):
        raise NoSuchResource(f"{request.method} {path} is not served")
    if path in SHELL_PATHS or path.startswith("/console/tasks/"):
        return _file(STATIC / "index.html", headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})
    if path.startswith("/console/static/"):
        name = path.removeprefix("/console/static/")
        target = STATIC / name
        if "/" in name or name.startswith(".") or not target.is_file():
            raise NoSuchResource(f"{path} does not exist")
        return _file(target, headers={"Cache-Control": "no-cache"})
    raise NoSuchResource(f"{path} is not a console page")


def _file(path: Path, headers: dict[str, str]) -> web.Response:
    return web.Response(body=path.read_bytes(), headers={"Content-Type": TYPES.get(path.suffix,
                        "application/octet-stream"), **headers})


async def sign_in_options(request: web.Request, console: Console) -> web.StreamResponse:
    """GET /console/api/signin: which ways to sign in the form offers (the console password when configured)."""
    return web.json_response({"Password": console.settings.console_account is not None})


async def sign_in(request: web.Request, console: Console) -> web.StreamResponse:
    """POST /console/api/signin {"secretId", "secretKey"} or {"password"} (JSON only: a cross-site form cannot
    send it)."""
    session.check_origin(request)
    if request.content_type != "application/json":
        raise InvalidArgument("sign in with a JSON body")
    body = await json_object(request)
    settings = request.app[SETTINGS]
    if "password" in body:
        account = await session.sign_in_with_password(request, settings, str(body["password"]))
    else:
        account = await session.sign_in(request, settings, str(body.get("secretId", "")),
                                        str(body.get("secretKey", "")))
    return web.json_response({"AppId": account.appid})


async def sign_out(request: web.Request, console: Console) -> web.StreamResponse:
    """POST /console/api/signout (with the session's CSRF token)."""
    _, token = await session.account_of(request, console.settings)
    session.check_csrf(request, token)
    await session.sign_out(request)
    return web.json_response({})


async def me(request: web.Request, console: Console) -> web.StreamResponse:
    """GET /console/api/me: the account, its buckets and the CSRF token for state changes."""
    account, token = await session.account_of(request, console.settings)
    buckets = [{"Name": b.name, "Region": b.region} for b in console.settings.buckets if b.appid == account.appid]
    return web.json_response({"AppId": account.appid, "SecretId": account.secret_id, "Csrf": token,
                              "Buckets": buckets}, headers={"Cache-Control": "no-store"})


ACCOUNT_FREE: dict[tuple[str, str], Callable[[web.Request, Console], Awaitable[web.StreamResponse]]] = {
    ("GET", "/console/api/signin"): sign_in_options,
    ("POST", "/console/api/signin"): sign_in,
    ("POST", "/console/api/signout"): sign_out,
    ("GET", "/console/api/me"): me,
}
