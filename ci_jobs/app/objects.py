"""Object use cases that create objects (PUT, Complete Multipart Upload): they raise ObjectCreated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..domain.events import EventBus, ObjectCreated, Source
from ..storage import ObjectMeta, Storage


class Objects:
    """Writes objects through the Storage port and announces each one on the event bus."""

    def __init__(self, storage: Storage, events: EventBus) -> None:
        self.storage = storage
        self.events = events

    async def put(self, bucket: str, key: str, chunks: AsyncIterator[bytes], **options: Any) -> ObjectMeta:
        """PUT Object (options as for `Storage.put`)."""
        meta = await self.storage.put(bucket, key, chunks, **options)
        await self.events.publish(ObjectCreated(bucket, key, meta.size, meta.etag, Source.PUT))
        return meta

    async def complete_upload(self, bucket: str, key: str, upload_id: str,
                              parts: list[tuple[int, str]]) -> ObjectMeta:
        """Complete Multipart Upload."""
        meta = await self.storage.complete_upload(bucket, key, upload_id, parts)
        await self.events.publish(ObjectCreated(bucket, key, meta.size, meta.etag, Source.MULTIPART))
        return meta
