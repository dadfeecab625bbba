"""What the console's handlers share: the use cases, the session storage, the live hub, one call's context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp_session import AbstractStorage

from ...app.console_queries import ConsoleQueries
from ...app.playback import Playback
from ...config import Account, Bucket, Settings
from ...errors import AccessDenied
from .live import LiveHub
from .session import make_storage

if TYPE_CHECKING:
    from ...app.objects import Objects
    from ...app.service import Service
    from ...app.sync import SyncProcessor


class Console:
    """The console of one node: built by the application factory, read by every console request."""

    def __init__(self, settings: Settings, service: Service, objects: Objects, sync: SyncProcessor | None) -> None:
        self.settings = settings
        self.service = service
        self.objects = objects
        self.sync = sync
        self.queries = ConsoleQueries(service.jobs)
        self.sessions: AbstractStorage = make_storage(settings)
        self.hub = LiveHub(service.events)
        cache = Path(settings.server.data_dir).resolve() / "console-cache"
        self.playback = Playback(service.storage, sync.pool, cache) if sync is not None else None


@dataclass(frozen=True)
class Call:
    """One signed-in console request: the account, its CSRF token and the path's parameters."""

    request: web.Request
    console: Console
    account: Account
    csrf: str
    params: dict[str, str]

    @property
    def buckets(self) -> list[Bucket]:
        """The buckets of the signed-in account's APPID (all a user may see)."""
        return [b for b in self.console.settings.buckets if b.appid == self.account.appid]

    def bucket(self, name: str = "") -> Bucket:
        """The bucket named in the path (or query), if it belongs to the account's APPID."""
        name = name or self.params.get("bucket", "") or self.request.query.get("bucket", "")
        mine = self.buckets
        if not name and mine:
            return mine[0]
        for b in mine:
            if b.name == name:
                return b
        raise AccessDenied(f"Bucket {name or '(none)'} does not belong to this account.")
