"""A web review server started in-process on a free port, for the tests of ``serve``."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlsys_srs.app.syncing import sync
from mlsys_srs.app.workspace import Workspace


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Served:
    """A running server over a vault and database; ``restart`` stops it and starts a new one."""

    vault: Path
    db: Path
    port: int
    lan: bool = False
    token: str | None = None
    clock: Callable[[], datetime] = now
    server: Any = None
    ws: Workspace | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def workspace(self, device: str = "phone") -> Workspace:
        return Workspace.open(vault=self.vault, db=self.db, clock=self.clock, device=device)

    def start(self) -> Served:
        from mlsys_srs.web.server import WebServer

        self.ws = self.workspace()
        self.server = WebServer(self.ws, port=self.port, lan=self.lan, token=self.token)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def reviews(self) -> list[tuple[str, int, int, str]]:
        """``(uid, card id, rating, kind)`` of every review row, oldest first."""
        import sqlite3

        conn = sqlite3.connect(self.db)
        try:
            return [
                (r[0], r[1], r[2], r[3])
                for r in conn.execute(
                    "SELECT uid, card_id, rating, kind FROM review ORDER BY reviewed_at, id"
                )
            ]
        finally:
            conn.close()


def serve(vault: Path, db: Path, *, lan: bool = False, token: str | None = None) -> Served:
    """Sync the vault, then start a server on a free port."""
    s = Served(vault, db, free_port(), lan=lan, token=token)
    sync(s.workspace("setup"))
    return s.start()


def request(
    served: Served,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    origin: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """One request (POST with a JSON body when ``body`` is given); status, headers, body."""
    hdrs = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
        if origin:
            hdrs.setdefault("Origin", f"http://127.0.0.1:{served.port}")
    req = urllib.request.Request(served.url.rstrip("/") + path, data=data, headers=hdrs)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as res:
            return res.status, {k.lower(): v for k, v in res.headers.items()}, res.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def api(served: Served, path: str, body: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A successful API call's JSON."""
    status, _, raw = request(served, path, body, **kw)
    assert status == 200, (status, raw[:500])
    data: dict[str, Any] = json.loads(raw)
    return data
