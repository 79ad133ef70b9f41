"""Running the web review: uvicorn serving the routes over a hub, on the loopback address or the
network, over HTTP or HTTPS.

``WebServer.run`` serves until Ctrl-C (the ``serve`` command); ``start`` serves from a thread
and ``stop`` ends it (tests and benchmarks start a server in-process on a free port).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SrsError
from .guard import Guard
from .hub import Hub
from .routes import make_app

if TYPE_CHECKING:
    from ..app.workspace import Workspace

DEFAULT_PORT = 8765


def lan_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, as its host name resolves (no packet sent)."""
    out: list[str] = []
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET, socket.SOCK_STREAM):
            addr = str(info[4][0])
            if not addr.startswith("127.") and addr not in out:
                out.append(addr)
    return out


def check_port(host: str, port: int) -> None:
    """Refuse a port another program listens on, before anything starts.

    Raises:
        SrsError: the port is taken or cannot be used.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise SrsError(
                f"cannot listen on {host}:{port} ({exc.strerror}); choose another with --port"
            ) from None


class WebServer:
    """One web review server over a workspace."""

    def __init__(
        self,
        ws: Workspace,
        *,
        port: int = DEFAULT_PORT,
        lan: bool = False,
        token: str | None = None,
        cert: Path | None = None,
        key: Path | None = None,
        sync: bool = True,
    ) -> None:
        """Set up (nothing listens yet).

        Args:
            ws: The workspace served.
            port: The TCP port.
            lan: Listen on every address (0.0.0.0) and require ``token``; else 127.0.0.1 only.
            token: The token of ``--lan`` (required with it).
            cert: A TLS certificate (PEM) to serve HTTPS, with ``key``.
            key: The certificate's private key (PEM).
            sync: Sync the vault when a page starts a study.
        """
        import uvicorn

        if lan and not token:
            raise SrsError("--lan needs a token")
        if (cert is None) != (key is None):
            raise SrsError("--cert and --key go together")
        self.host = "0.0.0.0" if lan else "127.0.0.1"
        self.port = port
        self.secure = cert is not None
        self.hub = Hub(ws, sync=sync)
        self.guard = Guard(port, token if lan else None, secure=self.secure)
        self.app = make_app(self.hub, self.guard)
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=port,
            log_level="warning",
            access_log=False,
            server_header=False,
            lifespan="on",
            ssl_certfile=str(cert) if cert else None,
            ssl_keyfile=str(key) if key else None,
            timeout_graceful_shutdown=3,
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The address of the page on this machine."""
        scheme = "https" if self.secure else "http"
        host = "localhost" if self.host == "127.0.0.1" else self.host
        return f"{scheme}://{host}:{self.port}/"

    def run(self) -> None:
        """Serve until interrupted (Ctrl-C)."""
        check_port(self.host, self.port)
        self.server.run()

    def start(self, timeout: float = 10.0) -> None:
        """Serve from a thread; return once the server listens."""
        check_port(self.host, self.port)
        self._thread = threading.Thread(target=self.server.run, name="mlsys-srs-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise SrsError(f"the web server did not start on {self.host}:{self.port}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop a server started with ``start`` (open connections are closed)."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
