"""A declared route table: (methods, path shape) -> handler, for the protocols whose paths are fixed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from ..errors import MethodNotAllowed, NoSuchResource
from .hosts import Target

Handler = Callable[[web.Request, Target, str], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """`methods` on `/<root>` (with `rest=False`) or on `/<root>/<one segment>` (`rest=True`)."""

    methods: tuple[str, ...]
    root: str
    handler: Handler
    rest: bool = False


class RouteTable:
    """Finds the handler of a request; unknown roots are NoSuchResource, known ones MethodNotAllowed."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        self.roots = frozenset(r.root for r in routes)

    def find(self, method: str, path: str) -> tuple[Handler, str]:
        """The handler for `method path` and the path's segment after the root ('' when none)."""
        root, _, rest = path.lstrip("/").partition("/")
        rest = rest.strip("/")
        if root not in self.roots:
            raise NoSuchResource(f"/{root} is not supported by this server.")
        for route in self.routes:
            if route.root == root and route.rest == bool(rest) and method in route.methods:
                return route.handler, rest
        raise MethodNotAllowed()
