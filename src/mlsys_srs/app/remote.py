"""Answers from a front end that may have been offline: the web page's queued answers.

The web page sends each answer with its own id and time. One given while the page was
connected to the card the server shows is graded by the review session like a key at the
terminal (``review.session.Session.grade`` with the answer's id); one that waited in the
page (offline, or a reply that never came) goes through ``take_answers``: stored once by its
id as an event of this device at its own time, the card replayed in time order when it was
answered elsewhere since (``history.ingest``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from ..history.ingest import Answer, IngestReport
    from .workspace import Workspace


def take_answers(ws: Workspace, conn: sqlite3.Connection, answers: list[Answer]) -> IngestReport:
    """Take in answers given elsewhere (idempotent by answer id), waiting for a sync that is writing.

    Answer times are capped at the configured longest answer time; a time ahead of now is taken
    as now.
    """
    from dataclasses import replace

    from ..history.ingest import ingest_answers

    cfg = ws.config
    cap = int(cfg.review.max_answer_seconds * 1000)
    capped = [replace(a, ms=min(max(0, a.ms), cap)) for a in answers]
    with ws.writing():
        return ingest_answers(
            conn,
            ws.scheduler(),
            capped,
            ws.now(),
            journal=ws.journal(),
            leech_threshold=cfg.schedule.leech_threshold,
            leech_action=cfg.schedule.leech_action,
        )


def known_answers(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    """Which of these answer ids are stored already (sent before, maybe with the reply lost)."""
    from ..store.events import known_event_ids

    return known_event_ids(conn, ids)
