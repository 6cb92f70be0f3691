"""What every request goes through: a request id, an access log line, request metrics, and a JSON 500.

One pure ASGI layer (Starlette's BaseHTTPMiddleware costs far more per request). It sits inside Starlette's
ServerErrorMiddleware and answers an unexpected error itself, without re-raising it: re-raised, the server
would close a keep-alive connection under a client that was told nothing.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bayqa.metrics import REQUEST_SECONDS, REQUESTS

REQUEST_ID = "x-request-id"
_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_INTERNAL = b'{"detail":"internal error; the server log has the details (request id %s)"}'
access = logging.getLogger("bayqa.access")
log = logging.getLogger("bayqa.api")


def _route(scope: Scope) -> str:
    """The route's template (``/documents/{doc_id}``), never the raw path: raw paths would make a label per URL."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path).replace(":path}", "}")
    return "/static" if str(scope.get("path", "")).startswith("/static/") else "unmatched"


class RequestLayer:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope["headers"]).get(REQUEST_ID.encode(), b"").decode("latin-1")
        request_id = given if _GOOD_ID.fullmatch(given) else secrets.token_hex(8)
        status = 500
        sent = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                sent = True
                message["headers"] = [*message.get("headers", []), (REQUEST_ID.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unexpected error on %s %s (request id %s)", scope["method"], scope["path"], request_id)
            if sent:
                raise  # the response is half out: nothing left to do but drop the connection
            status = 500
            body = _INTERNAL % request_id.encode()
            await send({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (REQUEST_ID.encode(), request_id.encode())]})
            await send({"type": "http.response.body", "body": body})
        finally:
            seconds = time.perf_counter() - started
            labels: tuple[Any, ...] = (scope["method"], _route(scope), str(status))
            REQUESTS.labels(*labels).inc()
            REQUEST_SECONDS.labels(*labels).observe(seconds)
            access.info('%s "%s %s" %d %.1f ms id=%s', _client(scope), scope["method"], scope["path"], status,
                        seconds * 1000, request_id)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "-"
