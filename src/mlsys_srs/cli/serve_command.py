"""The ``serve`` command: the daily review as a web page, for a phone or a laptop's browser.

Parses the options, syncs the vault, prints where the page is (with a QR code for ``--lan``)
and runs the server of ``web`` until Ctrl-C. The web package (Starlette, uvicorn) is imported
inside the command only, so no other command pays for it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .context import console, err_console, workspace

app = typer.Typer()
"""The commands of this group, added to the main app by ``cli/__init__``."""


@app.command()
def serve(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", "-p", min=1, max=65535, help="TCP port to listen on.")
    ] = 8765,
    lan: Annotated[
        bool,
        typer.Option(
            "--lan",
            help="Listen on the network (0.0.0.0), not only this machine; every request then needs the token.",
        ),
    ] = False,
    cert: Annotated[
        Path | None,
        typer.Option(
            "--cert",
            help="TLS certificate (PEM) to serve HTTPS, with --key.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Private key (PEM) of --cert.", show_default=False, dir_okay=False),
    ] = None,
    new_token: Annotated[
        bool,
        typer.Option(
            "--new-token", help="With --lan: make a new token (every device must open the new address)."
        ),
    ] = False,
) -> None:
    """Review in a web browser: on this machine, or on your phone with --lan.

    Serves the same review as `review` (queue, keys, grades, undo, bury,
    suspend, journal) as a page: open the address printed, or with --lan scan
    the QR code with the phone (same network). Study modes and filters are URL
    parameters: ?mode=cram|ahead|forgotten|weak|preview, days=N, weak=N,
    reschedule=1, new=N, limit=N, domain=, tag=, note=, deck= (as `review`'s
    options). The page keeps answering the cards it fetched ahead when the
    connection drops and sends the answers when it is back. Needs the optional
    packages: pip install 'mlsys-srs\\[web]'.
    """
    from ..errors import SrsError

    if (cert is None) != (key is None):
        raise SrsError("--cert and --key go together")
    for path in (cert, key):
        if path is not None and not path.is_file():
            raise SrsError(f"{path}: no such file")
    try:
        from ..web.server import WebServer, lan_addresses
    except ImportError as exc:
        raise SrsError(
            f"serve needs the optional web packages ({exc.name} is missing): pip install 'mlsys-srs[web]'"
        ) from None
    from .notes_commands import run_sync

    ws = workspace(ctx)
    report = run_sync(ctx, quiet=True)
    for d in report.errors:
        err_console().print(f"{d.path}:{d.line}: {d.message}", markup=False, soft_wrap=True)
    token = None
    if lan:
        from ..web.guard import load_token

        token = load_token(ws.config.data_dir, renew=new_token)
    server = WebServer(ws, port=port, lan=lan, token=token, cert=cert, key=key)
    c = console()
    scheme = "https" if cert else "http"
    if lan:
        hosts = lan_addresses() or ["<this machine's address>"]
        url = f"{scheme}://{hosts[0]}:{port}/?token={token}"
        c.print(f"Review on your phone (same network): {url}", soft_wrap=True)
        for other in hosts[1:]:
            c.print(f"  or {scheme}://{other}:{port}/?token={token}", soft_wrap=True)
        _print_qr(url)
        if not cert:
            c.print(
                "Plain HTTP on the network: the page works and keeps answers offline, but cannot be "
                "installed as an app (--cert/--key serve HTTPS).",
                soft_wrap=True,
            )
    else:
        c.print(f"Review in your browser: {server.url}", soft_wrap=True)
    c.print("Ctrl-C stops the server (every answer is already saved).", soft_wrap=True)
    server.run()


def _print_qr(url: str) -> None:
    from ..web.qr import qr_plain, qr_text

    c = console()
    text = qr_text(url) if c.is_terminal and c.color_system else None
    if text is not None:
        c.print(text, soft_wrap=True)
        return
    plain = qr_plain(url)
    if plain is not None:
        c.print(plain, soft_wrap=True)
