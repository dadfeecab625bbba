"""Object use cases that create objects (PUT, POST form upload, Copy, Complete Multipart Upload): they raise
ObjectCreated.

Before an object's creation is answered, `on_created` (the workflow trigger) must have committed what
the object starts: its failure fails the request (the client retries; a PUT is idempotent), so an
answered upload never loses its executions. Other reactions subscribe to ObjectCreated on the bus.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from ..domain.events import EventBus, ObjectCreated, Source
from ..storage import ObjectMeta, Storage

# What must be committed before an upload is answered: (bucket, the object as stored, how it was made).
OnCreated = Callable[[str, ObjectMeta, Source], Awaitable[None]]


class Objects:
    """Writes objects through the Storage port, commits what they trigger, and announces each one on the bus."""

    def __init__(self, storage: Storage, events: EventBus, on_created: OnCreated | None = None) -> None:
        self.storage = storage
        self.events = events
        self.on_created = on_created

    async def _created(self, bucket: str, meta: ObjectMeta, source: Source) -> None:
        if self.on_created is not None:
            await self.on_created(bucket, meta, source)
        await self.events.publish(ObjectCreated(bucket, meta.key, meta.size, meta.etag, source))

    async def put(self, bucket: str, key: str, chunks: AsyncIterator[bytes], **options: Any) -> ObjectMeta:
        """PUT Object (options as for `Storage.put`)."""
        meta = await self.storage.put(bucket, key, chunks, **options)
        await self._created(bucket, meta, Source.PUT)
        return meta

    async def complete_upload(self, bucket: str, key: str, upload_id: str,
                              parts: list[tuple[int, str]]) -> ObjectMeta:
        """Complete Multipart Upload."""
        meta = await self.storage.complete_upload(bucket, key, upload_id, parts)
        await self._created(bucket, meta, Source.MULTIPART)
        return meta

    async def post(self, bucket: str, key: str, chunks: AsyncIterator[bytes], **options: Any) -> ObjectMeta:
        """POST Object (a browser form upload whose policy was verified; options as for `Storage.put`)."""
        meta = await self.storage.put(bucket, key, chunks, **options)
        await self._created(bucket, meta, Source.POST)
        return meta

    async def copy(self, bucket: str, key: str, source_bucket: str, source_key: str, *,
                   content_type: str, headers: Mapping[str, str]) -> ObjectMeta:
        """PUT Object - Copy: the source object's bytes published as `key` with the given metadata."""
        async with self.storage.local_input(source_bucket, source_key) as path:
            meta = await self.storage.put_file(bucket, key, path, content_type=content_type, headers=headers)
        await self._created(bucket, meta, Source.COPY)
        return meta
