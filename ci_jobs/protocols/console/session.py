"""Console sessions: an encrypted HttpOnly SameSite=Strict cookie (aiohttp-session + Fernet) and CSRF tokens.

Sign-in takes an account's SecretId and SecretKey, or the console password of the config
(`[console] password`), which signs in as the account `[console] account` names (the first
[[accounts]] when it names none): that account's APPID and buckets, as if its keys were typed.
The session holds the SecretId and a random CSRF token; every state change must echo the token in
`X-CSRF-Token` (a cross-site page can neither read it nor set the header without CORS, which this
server never grants). The Fernet key is derived from the configured secret keys and the console
password, so every node of a cluster reads every node's cookies, and changing a key or the password
signs everybody out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import SESSION_KEY, STORAGE_KEY, AbstractStorage, Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from ...config import Account, Settings
from .errors import BadCredentials, CsrfRefused, NotSignedIn

COOKIE = "ci_jobs_console"
MAX_AGE = 12 * 3600
CSRF_HEADER = "X-CSRF-Token"


def fernet_key(settings: Settings) -> bytes:
    """The 32 raw bytes of the Fernet key (aiohttp-session base64-encodes them), from every SecretKey."""
    material = "\0".join(sorted(a.secret_key for a in settings.accounts)) + "\0" + settings.console.password
    return hashlib.sha256(b"ci-jobs console session\0" + material.encode()).digest()


def make_storage(settings: Settings) -> AbstractStorage:
    """The cookie storage: encrypted and authenticated (Fernet), HttpOnly, SameSite=Strict, path /console."""
    return EncryptedCookieStorage(fernet_key(settings), cookie_name=COOKIE, max_age=MAX_AGE, path="/console",
                                  httponly=True, samesite="Strict")


def attach(request: web.Request, storage: AbstractStorage) -> None:
    """Make `get_session` work for this request (what aiohttp-session's middleware does)."""
    request[STORAGE_KEY] = storage


async def save(request: web.Request, response: web.StreamResponse) -> None:
    """Write the session cookie if the handler changed the session (what the middleware does after it)."""
    session: Session | None = request.get(SESSION_KEY)
    if session is None or response.prepared or not (session.new or session._changed):  # noqa: SLF001
        return
    await request[STORAGE_KEY].save_session(request, response, session)


async def sign_in(request: web.Request, settings: Settings, secret_id: str, secret_key: str) -> Account:
    """Check the key pair (in constant time) and start a fresh session for it."""
    account = settings.account(secret_id.strip())
    if account is None or not hmac.compare_digest(account.secret_key.encode(), secret_key.encode()):
        raise BadCredentials()
    return await _start(request, account)


async def sign_in_with_password(request: web.Request, settings: Settings, password: str) -> Account:
    """Check the console password (in constant time) and start a session as its configured account."""
    account = settings.console_account
    if account is None:
        raise BadCredentials("No console password is configured: sign in with a SecretId and SecretKey.")
    if not hmac.compare_digest(settings.console.password.encode(), password.encode()):
        raise BadCredentials("The console password is wrong.")
    return await _start(request, account)


async def _start(request: web.Request, account: Account) -> Account:
    session = await new_session(request)
    session["sid"] = account.secret_id
    session["csrf"] = secrets.token_urlsafe(24)
    return account


async def sign_out(request: web.Request) -> None:
    """End the session (the cookie is cleared)."""
    session = await get_session(request)
    session.invalidate()


async def account_of(request: web.Request, settings: Settings) -> tuple[Account, str]:
    """The signed-in account and the session's CSRF token; NotSignedIn when there is none."""
    session = await get_session(request)
    account = settings.account(str(session.get("sid", "")))
    if account is None:
        raise NotSignedIn()
    return account, str(session.get("csrf", ""))


def check_csrf(request: web.Request, token: str) -> None:
    """Refuse a state change whose X-CSRF-Token is not this session's, or that comes from another origin."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        raise CsrfRefused()
    check_origin(request)


def check_origin(request: web.Request) -> None:
    """Refuse a request a browser marked as sent by another site."""
    origin = request.headers.get("Origin", "")
    cross = request.headers.get("Sec-Fetch-Site", "") == "cross-site"
    if cross or (origin and urlsplit(origin).netloc != request.host):
        raise CsrfRefused("Cross-origin state changes are refused.")
