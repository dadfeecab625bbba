"""Template rows of the PostgreSQL store (a mixin over its transaction and fetch helpers)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from . import postgres_sql as sql
from . import rows
from .records import TemplateRecord


class TemplateRows:
    """put/get/list/delete of templates; needs the host class's `_tx` and `_fetch`."""

    _tx: Callable[..., Awaitable[Any]]
    _fetch: Callable[..., Awaitable[list[Any]]]

    async def put_template(self, template: TemplateRecord) -> None:
        """Insert or replace a template."""
        async def run(conn: Any) -> None:
            await conn.execute(sql.PUT_TEMPLATE, template.template_id, template.bucket, template.name, template.tag,
                               json.dumps(template.params, ensure_ascii=False), template.created, template.updated)
        await self._tx(run)

    async def get_template(self, bucket: str, template_id: str) -> TemplateRecord | None:
        """One custom template of a bucket."""
        found = await self._fetch(sql.TEMPLATE, bucket, template_id)
        return rows.template(found[0]) if found else None

    async def list_templates(self, bucket: str, tag: str, name_prefix: str, ids: list[str], offset: int,
                             limit: int) -> tuple[list[TemplateRecord], int]:
        """A page of a bucket's custom templates and the total that match."""
        args = (bucket, tag, name_prefix, ids)
        total = await self._fetch(sql.COUNT_TEMPLATES, *args)
        page = await self._fetch(sql.LIST_TEMPLATES, *args, limit, offset)
        return [rows.template(r) for r in page], int(total[0]["n"])

    async def delete_template(self, bucket: str, template_id: str) -> bool:
        """Delete a template."""
        async def run(conn: Any) -> bool:
            status = await conn.execute(sql.DELETE_TEMPLATE, bucket, template_id)
            return bool(status != "DELETE 0")
        return bool(await self._tx(run))
