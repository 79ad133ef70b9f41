"""The web review's HTTP face: the page, its static files, its JSON API and the vault's images.

The page and everything it loads are files of this package (``static/``): nothing comes from
the internet. The API is JSON over POST (``/api/...``), each call run on the hub's thread:

- ``/api/session``: start or resume the page's study; its state (the card on screen, the cards
  ahead, progress, notices; the summary when done);
- ``/api/cards``: cards fetched ahead, rendered, with their intervals;
- ``/api/answer``: one answer (live, or queued while offline), idempotent by its id;
- ``/api/answers``: the answers that waited in the page, taken at their own times;
- ``/api/undo``, ``/api/set-aside`` (bury, suspend), ``/api/next`` (preview);
- ``GET /api/ping``: whether the server is there (the page polls it while offline).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from ..errors import SrsError
from .guard import Guard, GuardMiddleware
from .hub import Hub, StudyQuery, Tab, describe, parse_answer

if TYPE_CHECKING:
    from starlette.types import ASGIApp

STATIC = Path(__file__).parent / "static"
MAX_BODY = 1_000_000
"""The largest request body taken (500 queued answers fit in a tenth of it)."""

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".html": "text/html; charset=utf-8",
}
_IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "bmp": "image/bmp",
    "avif": "image/avif",
}


class BadRequest(Exception):
    """A request the page should not have sent."""


def _static(name: str) -> Callable[[Request], Any]:
    path = STATIC / name
    media_type = _TYPES[path.suffix]

    async def endpoint(request: Request) -> Response:
        headers = {"Service-Worker-Allowed": "/"} if name == "sw.js" else {}
        return FileResponse(path, media_type=media_type, headers=headers)

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadRequest("the request is too large")
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise BadRequest("the request is not JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("the request is not a JSON object")
    return data


def make_app(hub: Hub, guard: Guard) -> ASGIApp:
    """The ASGI application: routes over the hub, behind the guard."""

    async def on_hub(fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(hub.executor, fn, *args)

    def query_of(data: dict[str, Any]) -> StudyQuery:
        q = data.get("query")
        if not isinstance(q, str) or len(q) > 4000:
            q = ""
        return StudyQuery.from_params(parse_qs(q.lstrip("?"), keep_blank_values=True))

    def tab_of(data: dict[str, Any]) -> Tab:
        return hub.tab(str(data.get("tab") or ""), query_of(data))

    def api(work: Callable[[dict[str, Any]], dict[str, Any] | list[Any]]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                data = await _body(request)
                result = await on_hub(work, data)
            except (SrsError, BadRequest) as exc:
                return JSONResponse({"error": describe(exc)}, status_code=400)
            except sqlite3.Error as exc:
                from ..app.workspace import describe_db_error

                error = describe_db_error(hub.ws.config.db, exc)
                return JSONResponse({"error": str(error)}, status_code=503)
            return JSONResponse(result)

        return endpoint

    def session(data: dict[str, Any]) -> dict[str, Any]:
        return hub.state(tab_of(data))

    def cards(data: dict[str, Any]) -> dict[str, Any]:
        ids = data.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise BadRequest("ids: a list of card ids")
        return {"cards": hub.cards(tab_of(data), ids)}

    def answer(data: dict[str, Any]) -> dict[str, Any]:
        return hub.answer(tab_of(data), parse_answer(data.get("answer")), live=data.get("live") is True)

    def answers(data: dict[str, Any]) -> dict[str, Any]:
        items = data.get("answers")
        if not isinstance(items, list):
            raise BadRequest("answers: a list")
        return hub.answers(tab_of(data), [parse_answer(a) for a in items])

    def undo(data: dict[str, Any]) -> dict[str, Any]:
        return hub.undo(tab_of(data))

    def set_aside(data: dict[str, Any]) -> dict[str, Any]:
        action, card = data.get("action"), data.get("card")
        if action not in ("bury", "suspend") or not isinstance(card, int) or isinstance(card, bool):
            raise BadRequest("action: bury or suspend, with the card's id")
        return hub.set_aside(tab_of(data), card, action)

    def next_card(data: dict[str, Any]) -> dict[str, Any]:
        card = data.get("card")
        if not isinstance(card, int) or isinstance(card, bool):
            raise BadRequest("card: the id of the card on screen")
        return hub.next_preview(tab_of(data), card)

    async def ping(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def media(request: Request) -> Response:
        name = str(request.path_params["name"])
        path = await on_hub(hub.media_file, name)
        if path is None:
            return Response("not found", status_code=404, media_type="text/plain")
        kind = _IMAGE_TYPES.get(path.suffix.lower().lstrip("."), "application/octet-stream")
        return FileResponse(path, media_type=kind)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.get_running_loop().run_in_executor(None, hub.close)

    routes = [
        Route("/", _static("index.html")),
        Route("/sw.js", _static("sw.js")),
        Route("/manifest.webmanifest", _static("manifest.webmanifest")),
        Route("/static/app.js", _static("app.js")),
        Route("/static/app.css", _static("app.css")),
        Route("/static/icon.svg", _static("icon.svg")),
        Route("/media/{name:str}", media),
        Route("/api/ping", ping),
        Route("/api/session", api(session), methods=["POST"]),
        Route("/api/cards", api(cards), methods=["POST"]),
        Route("/api/answer", api(answer), methods=["POST"]),
        Route("/api/answers", api(answers), methods=["POST"]),
        Route("/api/undo", api(undo), methods=["POST"]),
        Route("/api/set-aside", api(set_aside), methods=["POST"]),
        Route("/api/next", api(next_card), methods=["POST"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(GuardMiddleware, guard=guard)], lifespan=lifespan)
