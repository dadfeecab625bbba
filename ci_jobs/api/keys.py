"""Typed aiohttp application state shared by the API handlers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..config import Settings
    from ..service import Service
    from ..storage import Storage

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
SERVICE: web.AppKey[Service] = web.AppKey("service")
STORAGE: web.AppKey[Storage] = web.AppKey("storage")
