"""Serving the application: an AppRunner whose HTTP-level errors are CI `<Error>` XML too.

aiohttp answers a request it cannot parse (a request line or header over 8,190 bytes, a bad
method) before any middleware runs, with a plain-text body that echoes the request and that no SDK
can read. The runner here swaps in a request handler that renders those errors the way every other
error is rendered, without the echo.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .. import errors, ids
from .xmlerrors import error_response

log = logging.getLogger(__name__)


class _Handler(RequestHandler):
    """aiohttp's connection handler with CI-shaped parse and last-resort errors."""

    def handle_error(self, request: BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """The `<Error>` XML for an HTTP-level failure; the connection is closed after it."""
        if request.writer.output_size > 0:
            raise ConnectionError("Response is sent already, cannot send another response")
        log.info("unreadable request from %s: %s", request.remote, type(exc).__name__ if exc else status)
        err: errors.CiJobsError = (errors.InvalidRequest("The request line or a header is too long, or the "
                                                         "request is not valid HTTP.")
                                   if 400 <= status < 500 else errors.CiJobsError("We encountered an internal error."))
        host = request.headers.get("Host", "") if status < 500 else ""
        response = error_response(err, service="cos", request_id=ids.request_id(), resource=host or "-",
                                  method="GET")
        response.force_close()
        return response


class _Server(web.Server):
    """A web.Server that makes `_Handler` connections (nothing else differs)."""

    def __call__(self) -> RequestHandler:
        return _Handler(self, loop=self._loop, **self._kwargs)


class Runner(web.AppRunner):
    """`web.AppRunner` serving through `_Server`."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # same state, another handler class: aiohttp has no hook for this
        return server


def runner(app: web.Application, **kwargs: Any) -> Runner:
    """A runner for `app` (kwargs as for web.AppRunner)."""
    return Runner(app, **kwargs)
