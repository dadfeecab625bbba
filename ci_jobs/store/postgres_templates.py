"""Template rows of the PostgreSQL store (a mixin over its transaction and fetch helpers)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from . import TemplateRecord

T = TypeVar("T")
COLUMNS = "template_id, bucket, name, tag, params, created, updated"
PUT = f"""
INSERT INTO templates ({COLUMNS}) VALUES ($1, $2, $3, $4, $5::json, $6, $7)
ON CONFLICT (template_id) DO UPDATE SET name = excluded.name, tag = excluded.tag, params = excluded.params,
    updated = excluded.updated"""


def _record(r: Mapping[str, Any]) -> TemplateRecord:
    return TemplateRecord(template_id=r["template_id"], bucket=r["bucket"], name=r["name"], tag=r["tag"],
                          params=json.loads(r["params"]), created=r["created"], updated=r["updated"])


class TemplateRows:
    """put/get/list/delete of templates; needs the host class's `_tx` and `_fetch`."""

    _tx: Callable[..., Awaitable[Any]]
    _fetch: Callable[..., Awaitable[list[Any]]]

    async def put_template(self, template: TemplateRecord) -> None:
        """Insert or replace a template."""
        async def run(conn: Any) -> None:
            await conn.execute(PUT, template.template_id, template.bucket, template.name, template.tag,
                               json.dumps(template.params, ensure_ascii=False), template.created, template.updated)
        await self._tx(run)

    async def get_template(self, bucket: str, template_id: str) -> TemplateRecord | None:
        """One custom template of a bucket."""
        rows = await self._fetch(f"SELECT {COLUMNS} FROM templates WHERE bucket = $1 AND template_id = $2",
                                 bucket, template_id)
        return _record(rows[0]) if rows else None

    async def list_templates(self, bucket: str, tag: str, name_prefix: str, ids: list[str], offset: int,
                             limit: int) -> tuple[list[TemplateRecord], int]:
        """A page of a bucket's custom templates and the total that match."""
        cond = ("bucket = $1 AND ($2 = '' OR tag = $2) AND left(name, length($3)) = $3"
                " AND (cardinality($4::text[]) = 0 OR template_id = ANY($4::text[]))")
        args = (bucket, tag, name_prefix, ids)
        total = await self._fetch(f"SELECT count(*) AS n FROM templates WHERE {cond}", *args)
        rows = await self._fetch(f"SELECT {COLUMNS} FROM templates WHERE {cond}"
                                 " ORDER BY created, template_id LIMIT $5 OFFSET $6", *args, limit, offset)
        return [_record(r) for r in rows], int(total[0]["n"])

    async def delete_template(self, bucket: str, template_id: str) -> bool:
        """Delete a template."""
        async def run(conn: Any) -> bool:
            status = await conn.execute("DELETE FROM templates WHERE bucket = $1 AND template_id = $2",
                                        bucket, template_id)
            return bool(status != "DELETE 0")
        return bool(await self._tx(run))
