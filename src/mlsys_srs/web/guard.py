"""Who may use the server, and the headers every answer carries.

- On 127.0.0.1 (the default) only this machine can connect; the ``Host`` header must name
  the loopback address or ``localhost`` with the server's port, so that a web site that points
  a name of its own at 127.0.0.1 (DNS rebinding) is refused.
- With ``--lan`` the server listens on the network and every request needs the token: from
  the URL printed at start (``?token=...``), after which the page gets it as a cookie
  (HttpOnly, SameSite=Strict) and the address bar loses it (a redirect); or the
  ``X-Token`` header. A wrong or missing token is refused (403) before anything else runs.
- A request that changes anything (POST) must also come from the page itself: an ``Origin``
  (else ``Sec-Fetch-Site``) of this very server, and a JSON body (a form on another site
  cannot send one without the browser asking first).
- Every answer carries a strict Content-Security-Policy (scripts and styles only from this
  server, no inline script; inline ``style`` attributes are allowed for the code colours
  Pygments writes), ``X-Content-Type-Options: nosniff``, no referrer, no framing; nothing that
  passed a token is cached.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "mlsys_srs_token"
TOKEN_FILE = "serve-token"

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
MEDIA_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
"""An image opened on its own (an SVG) runs nothing."""


def load_token(data_dir: Path, *, renew: bool = False) -> str:
    """The server's token: made once (random, 192 bits) and kept in the user data folder, so that a
    phone that added the page to its home screen still gets in after a restart; ``renew`` makes a
    new one (every device must scan again)."""
    path = data_dir / TOKEN_FILE
    if not renew:
        try:
            text = path.read_text(encoding="ascii").strip()
            if len(text) >= 32 and text.replace("-", "").replace("_", "").isalnum():
                return text
        except (OSError, UnicodeDecodeError):
            pass
    token = secrets.token_urlsafe(24)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{TOKEN_FILE}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="ascii") as fh:
        fh.write(token + "\n")
    tmp.replace(path)
    return token


@dataclass(frozen=True)
class Guard:
    """The rules of one server: ``token`` None on the loopback address (no token needed)."""

    port: int
    token: str | None = None
    secure: bool = False

    def host_ok(self, host: str) -> bool:
        """Without a token, only the loopback names are accepted as ``Host``."""
        if self.token is not None:
            return True
        return host in {f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}"}

    def token_ok(self, given: str | None) -> bool:
        """The token matches (compared in constant time); always true without one."""
        if self.token is None:
            return True
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers") or ():
        if k == name:
            return bytes(v).decode("latin-1")
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is no token
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def security_headers(path: str, *, secure: bool) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries (``path`` decides the policy and the caching)."""
    media = path.startswith("/media/")
    cache = b"no-cache" if path.startswith("/static/") else b"no-store"
    out = [
        (b"content-security-policy", (MEDIA_CSP if media else CSP).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"cross-origin-resource-policy", b"same-origin"),
        (b"cache-control", cache),
    ]
    if secure:
        out.append((b"strict-transport-security", b"max-age=31536000"))
    return out


async def _plain(send: Send, status: int, text: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardMiddleware:
    """The ASGI middleware that applies a ``Guard`` to every HTTP request (see the module)."""

    def __init__(self, app: ASGIApp, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on with the security headers added to the answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        g = self.guard
        path = str(scope.get("path") or "/")
        extra = security_headers(path, secure=g.secure)
        host = _header(scope, b"host") or ""
        if not g.host_ok(host):
            await _plain(send, 403, "refused: this server answers only to 127.0.0.1 and localhost", extra)
            return
        query = dict(parse_qsl(bytes(scope.get("query_string") or b"").decode("latin-1")))
        from_url = query.get("token")
        given = from_url or _header(scope, b"x-token") or _cookie(scope)
        if not g.token_ok(given):
            await _plain(
                send,
                403,
                "refused: open the address `mlsys-srs serve --lan` printed (it ends in ?token=...)",
                extra,
            )
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD") and not self._same_origin(scope, host):
            await _plain(send, 403, "refused: a change must come from the review page itself", extra)
            return
        if from_url is not None and g.token is not None and method == "GET":
            # Keep the token out of the address bar, the history and any cache: a cookie from now on.
            pairs = parse_qsl(bytes(scope["query_string"]).decode("latin-1"))
            rest = urlencode([(k, v) for k, v in pairs if k != "token"])
            location = quote(path) + (f"?{rest}" if rest else "")
            flags = "; Secure" if g.secure else ""
            cookie = f"{COOKIE}={g.token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{flags}"
            await send(
                {
                    "type": "http.response.start",
                    "status": 303,
                    "headers": [
                        (b"location", location.encode("latin-1")),
                        (b"set-cookie", cookie.encode()),
                        (b"content-length", b"0"),
                        *extra,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {h[0] for h in extra}
                headers = [h for h in message.get("headers") or () if h[0] not in names]
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _same_origin(self, scope: Scope, host: str) -> bool:
        scheme = "https" if self.guard.secure else "http"
        origin = _header(scope, b"origin")
        if origin is not None:
            if origin != f"{scheme}://{host}":
                return False
        elif _header(scope, b"sec-fetch-site") != "same-origin":
            return False
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        return ctype == "application/json"
