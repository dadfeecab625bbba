"""Template rows of the SQLite store (a mixin over its transaction and read helpers)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiosqlite

from . import TemplateRecord

TEMPLATE_COLUMNS = "template_id, bucket, name, tag, params, created, updated"


class TemplateRows:
    """put/get/list/delete of templates; needs the host class's `_tx` and `_read`."""

    _tx: Callable[..., Awaitable[Any]]
    _read: Callable[[str, Iterable[Any]], Awaitable[list[aiosqlite.Row]]]

    async def put_template(self, template: TemplateRecord) -> None:
        """Insert or replace a template."""
        async def run(db: aiosqlite.Connection) -> None:
            await db.execute(
                "INSERT INTO templates (template_id, bucket, name, tag, params, created, updated)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (template_id) DO UPDATE SET name=excluded.name,"
                " tag=excluded.tag, params=excluded.params, updated=excluded.updated",
                (template.template_id, template.bucket, template.name, template.tag,
                 json.dumps(template.params, ensure_ascii=False), template.created, template.updated))
        await self._tx(run)

    async def get_template(self, bucket: str, template_id: str) -> TemplateRecord | None:
        """One custom template of a bucket."""
        rows = await self._read(f"SELECT {TEMPLATE_COLUMNS} FROM templates WHERE bucket=? AND template_id=?",
                                (bucket, template_id))
        return _template(rows[0]) if rows else None

    async def list_templates(self, bucket: str, tag: str, name_prefix: str, ids: list[str], offset: int,
                             limit: int) -> tuple[list[TemplateRecord], int]:
        """A page of a bucket's custom templates and the total that match."""
        where: list[str] = ["bucket=?"]
        args: list[Any] = [bucket]
        if tag:
            where.append("tag=?")
            args.append(tag)
        if name_prefix:
            where.append("substr(name, 1, ?)=?")
            args += [len(name_prefix), name_prefix]
        if ids:
            where.append(f"template_id IN ({','.join('?' * len(ids))})")
            args += ids
        cond = " AND ".join(where)
        total = (await self._read(f"SELECT COUNT(*) FROM templates WHERE {cond}", args))[0][0]
        rows = await self._read(f"SELECT {TEMPLATE_COLUMNS} FROM templates WHERE {cond}"
                                " ORDER BY created, template_id LIMIT ? OFFSET ?", (*args, limit, offset))
        return [_template(r) for r in rows], int(total)

    async def delete_template(self, bucket: str, template_id: str) -> bool:
        """Delete a template."""
        async def run(db: aiosqlite.Connection) -> bool:
            cur = await db.execute("DELETE FROM templates WHERE bucket=? AND template_id=?", (bucket, template_id))
            return cur.rowcount > 0
        return bool(await self._tx(run))


def _template(r: aiosqlite.Row) -> TemplateRecord:
    return TemplateRecord(template_id=r["template_id"], bucket=r["bucket"], name=r["name"], tag=r["tag"],
                          params=json.loads(r["params"]), created=r["created"], updated=r["updated"])
