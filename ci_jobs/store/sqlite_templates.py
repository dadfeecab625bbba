"""Template rows of the SQLite store (a mixin over its transaction and read helpers)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiosqlite

from . import rows
from . import sqlite_sql as sql
from .records import TemplateRecord


class TemplateRows:
    """put/get/list/delete of templates; needs the host class's `_tx` and `_read`."""

    _tx: Callable[..., Awaitable[Any]]
    _read: Callable[[str, Iterable[Any]], Awaitable[list[aiosqlite.Row]]]

    async def put_template(self, template: TemplateRecord) -> None:
        """Insert or replace a template."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute(sql.PUT_TEMPLATE, (template.template_id, template.bucket, template.name, template.tag,
                                                json.dumps(template.params, ensure_ascii=False), template.created,
                                                template.updated))
        await self._tx(run)

    async def get_template(self, bucket: str, template_id: str) -> TemplateRecord | None:
        """One custom template of a bucket."""
        found = await self._read(sql.TEMPLATE, (bucket, template_id))
        return rows.template(found[0]) if found else None

    async def list_templates(self, bucket: str, tag: str, name_prefix: str, ids: list[str], offset: int,
                             limit: int) -> tuple[list[TemplateRecord], int]:
        """A page of a bucket's custom templates and the total that match."""
        where, args = sql.list_templates(bucket, tag, name_prefix, ids)
        total = (await self._read(sql.COUNT_TEMPLATES.format(where=where), args))[0][0]
        page = await self._read(sql.LIST_TEMPLATES.format(where=where), (*args, limit, offset))
        return [rows.template(r) for r in page], int(total)

    async def delete_template(self, bucket: str, template_id: str) -> bool:
        """Delete a template."""
        async def run(db: aiosqlite.Connection) -> bool:
            cur = await db.execute(sql.DELETE_TEMPLATE, (bucket, template_id))
            return cur.rowcount > 0
        return bool(await self._tx(run))
