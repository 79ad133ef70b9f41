"""Duplicate cards: two cards in different places that ask the same thing.

A pure library module (no file system, no database). ``check`` turns each pair
into a warning; the caller decides what to print.

How it works:

1. Every card's question and answer are normalised (:func:`normalize`): case
   folded, cloze and link syntax reduced to the text a reader sees, tags,
   block ids and punctuation dropped. Stopwords are then removed, leaving the
   card's *content tokens*.
2. Candidates come from an inverted index, not from all pairs. Each card is
   indexed under its few rarest content tokens (document frequency counted
   over the whole input); tokens found in too many cards are never indexed, so
   a common word cannot make the work quadratic. Two cards are compared only
   when they share one of these rare tokens.
3. Candidates are scored with ``rapidfuzz`` (:func:`similarity`): the best of
   the similarity of the whole cards and question/answer weighted
   similarities, lowered when the two cards name different numbers ("ZeRO
   stage 1" and "ZeRO stage 3" are different facts), when both have short,
   unrelated answers (one sentence, two different blanks) and when both are in
   one note. Pairs at or above the threshold are reported, at most one per
   pair of groups.

The default threshold (70) was chosen on the bundled notes as of commit
46adb05, which held many copies of one fact in several notes: those scored
70-100, while related but different cards (two ridge points of one GPU,
synchronous vs asynchronous replication and SGD, He vs Xavier initialization)
stayed below 69.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ..parse.clozes import CLOZE_RE, EXPLICIT_CLOZE_RE
from ..parse.model import Diagnostic, ParsedCard, ParsedNote
from ..parse.text import MDLINK_RE, TAG_RE, WIKILINK_RE

__all__ = [
    "DEFAULT_THRESHOLD",
    "CardText",
    "DuplicatePair",
    "cards_from_notes",
    "find_duplicates",
    "normalize",
    "similarity",
]

#: Score (0-100) at or above which two cards are reported; see :func:`similarity`.
DEFAULT_THRESHOLD = 70.0

# A card is indexed under its rarest tokens, at most _PREFIX_TOKENS of them, while
# their document frequencies add up to at most the budget (always at least one
# token). The budget spreads _WORK postings over the cards, within the bounds:
# a small vault is compared almost exhaustively, a large one in bounded time.
_PREFIX_TOKENS = 8
_WORK = 4_000_000
_MIN_BUDGET, _MAX_BUDGET = 32, 4096
# A token in more cards than this is never indexed (the largest of these bounds
# and budget // 8).
_MAX_DF_ABSOLUTE = 64
_MAX_DF_FRACTION = 0.001
# Candidates are first screened on whole-card similarity at this score (cheap, in C).
_SCREEN_CUTOFF = 40.0
# Two cards of one note are usually a deliberate contrast (He vs Xavier
# initialization, temporal vs spatial locality): only near-copies are reported.
_SAME_NOTE = 0.8
# Answers of at most this many content tokens that share none ask for different things.
_SHORT_ANSWER = 4

_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing done down during each either else etc every
    few for from further get gets had has have having he her here hers him his how i if in into is it
    its itself just let like may me might more most much must my no nor not of off often on once one
    only or other our ours out over own per same shall she should so some such than that the their
    theirs them then there these they this those through thus to too under until up upon us use used
    using very via vs was we were what when where which while who whom whose why will with within
    without would yes you your e g eg ie
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_TOKEN_RE = re.compile(r"[^\W_]+")
_DIGIT_RE = re.compile(r"\d")
_BLOCK_ID_LINE_RE = re.compile(r"(?:^|\s)\^[A-Za-z0-9-]+[ \t]*$", re.MULTILINE)
_CLOZE_PLACEHOLDER_RE = re.compile(r"\[[^\[\]\n]*\]")


@dataclass(frozen=True)
class CardText:
    """The text of one card as the duplicate detector sees it.

    ``group`` names the card's source block: cards of one group (the clozes of
    one paragraph, the two directions of a ``:::`` card, the cards of one
    paragraph) are siblings and are never reported against each other.
    """

    path: str
    line: int
    question: str
    answer: str
    group: str


@dataclass(frozen=True)
class DuplicatePair:
    """Two cards that ask the same thing; ``first`` sorts before ``second`` by (path, line)."""

    first: CardText
    second: CardText
    score: float


def _numbers(tokens: set[str], joined: str) -> set[str]:
    """The tokens with a digit: "2", "fp16", "7b"."""
    return {t for t in tokens if _DIGIT_RE.search(t)} if _DIGIT_RE.search(joined) else set()


class _Prepared:
    """A card reduced to what scoring needs (a plain class: built 200,000 times)."""

    __slots__ = (
        "answer",
        "answer_numbers",
        "answer_size",
        "answer_tokens",
        "card",
        "full",
        "numbers",
        "question",
        "tokens",
    )

    def __init__(self, card: CardText, question: set[str], answer: set[str]) -> None:
        self.card = card
        self.tokens = question | answer
        # Sorted distinct content tokens, space separated: the strings rapidfuzz compares.
        self.question = " ".join(sorted(question))
        self.answer = " ".join(sorted(answer))
        self.full = " ".join(sorted(self.tokens))
        self.numbers = _numbers(question, self.question)
        # In answers only plain numbers count: "6n" and "6p" are one formula.
        self.answer_numbers = {t for t in answer if t.isdigit()}
        self.answer_tokens = answer
        self.answer_size = len(answer)


def _cloze_text(m: re.Match[str]) -> str:
    content = m.group(1)
    em = EXPLICIT_CLOZE_RE.match(content)
    if em:
        content = em.group(2)
    return " " + content.partition("::")[0] + " "


def _wikilink_text(m: re.Match[str]) -> str:
    if m.group(1):  # an embed names a file, not a concept
        return " "
    target, _, display = m.group(2).partition("|")
    return " " + (display or target.partition("#")[0]) + " "


def _words(text: str) -> list[str]:
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if "{{" in text:
        text = CLOZE_RE.sub(_cloze_text, text)
    if "[" in text:
        text = WIKILINK_RE.sub(_wikilink_text, text)
        text = MDLINK_RE.sub(lambda m: " " + m.group(2) + " ", text)
    if "^" in text:
        text = _BLOCK_ID_LINE_RE.sub(" ", text)
    if "#" in text:
        text = TAG_RE.sub(" ", text)
    return _TOKEN_RE.findall(text.casefold())


def normalize(text: str) -> str:
    """Reduce card Markdown to lower-case words separated by single spaces.

    ``{{c1::x::hint}}`` becomes ``x``, ``[[a|b]]`` becomes ``b``, ``[[a]]``
    becomes ``a``, ``[text](url)`` becomes ``text``; inline code and math keep
    their words and numbers; ``#tags``, trailing block ids (``^id``) and
    punctuation are dropped; whitespace is collapsed.
    """
    return " ".join(_words(text))


def _content(text: str) -> set[str]:
    words = set(_words(text))
    words -= _STOPWORDS
    return words


def _prepare(card: CardText) -> _Prepared:
    return _Prepared(card, _content(card.question), _content(card.answer))


def _number_factor(x: set[str], y: set[str], low: float) -> float:
    """1 unless both name numbers and differ: ``low`` when they share none, up to 0.95."""
    if not x or not y or x == y:
        return 1.0
    return low + (0.95 - low) * len(x & y) / len(x | y)


def _score(a: _Prepared, b: _Prepared, full: float | None = None) -> float:
    if full is None:
        full = fuzz.ratio(a.full, b.full)
    score = full
    if a.answer_size >= 2 and b.answer_size >= 2:
        q = fuzz.ratio(a.question, b.question)
        ans = fuzz.ratio(a.answer, b.answer)
        score = max(score, 0.35 * q + 0.65 * ans, 0.65 * q + 0.35 * ans)
    score *= _number_factor(a.numbers, b.numbers, 0.7)
    score *= _number_factor(a.answer_numbers, b.answer_numbers, 0.8)
    if (
        0 < a.answer_size <= _SHORT_ANSWER
        and 0 < b.answer_size <= _SHORT_ANSWER
        and a.answer_tokens.isdisjoint(b.answer_tokens)
    ):
        score *= 0.7
    return score


def similarity(a: CardText, b: CardText) -> float:
    """How alike two cards are, 0 to 100, ignoring their groups.

    Each card is reduced to the sorted distinct content tokens of its
    question, of its answer, and of both together, and compared with
    ``rapidfuzz.fuzz.ratio``. The score is the best of the whole-card ratio
    and, when both answers have at least two content tokens, ``0.35 q + 0.65 a``
    and ``0.65 q + 0.35 a`` (``q`` and ``a`` the question and answer ratios):
    a reworded question with the same answer, or the same question with a
    reworded answer, still scores high. It is lowered when both questions
    name numbers (tokens with a digit: ``2``, ``fp16``, ``7b``) and name
    different ones: by 0.7 when they share none ("ZeRO stage 1" and "ZeRO
    stage 3" ask different things), rising to 0.95 as they share more; and
    likewise (from 0.8) when both answers name different plain numbers ("32 GB/s" and
    "64 GB/s"). It is
    multiplied by 0.7 when both answers are short (at most four content
    tokens) and share no token: the same sentence with a different blank
    ("... becomes multi-head attention when g = h" and "... multi-query
    attention when g = 1") is two facts, not one.
    """
    return _score(_prepare(a), _prepare(b))


def _order_key(c: CardText) -> tuple[str, int, str, str, str]:
    return (c.path, c.line, c.group, c.question, c.answer)


def find_duplicates(cards: Sequence[CardText], threshold: float = DEFAULT_THRESHOLD) -> list[DuplicatePair]:
    """Pairs of cards in different places that ask the same thing.

    Args:
        cards: Every card of the vault (order does not matter).
        threshold: Lowest :func:`similarity` (0-100) that is reported.

    Returns:
        At most one pair per pair of groups (the highest-scoring one), never a
        pair within one group nor two cards at the same path and line. Two
        cards of the same note (path) have their score multiplied by 0.8, so
        only near-copies within a note are reported: neighbouring cards of one
        note are usually a deliberate contrast, not a duplicate. In each
        pair ``first`` sorts before ``second`` by (path, line); the list is
        sorted by ``first`` then ``second``. The result does not depend on the
        order of ``cards``.
    """
    # Identical cards of one group (cloze siblings written the same way, repeated
    # input) are compared once.
    unique: dict[tuple[str, str, int, str, str], CardText] = {}
    for c in sorted(cards, key=_order_key):
        unique.setdefault((c.group, c.path, c.line, c.question, c.answer), c)
    prepared = [_prepare(c) for c in unique.values()]
    n = len(prepared)

    df: dict[str, int] = defaultdict(int)
    for p in prepared:
        for t in p.tokens:
            df[t] += 1
    budget = min(_MAX_BUDGET, max(_MIN_BUDGET, _WORK // max(n, 1)))
    max_df = max(_MAX_DF_ABSOLUTE, int(_MAX_DF_FRACTION * n), budget // 8)

    postings: dict[str, list[int]] = defaultdict(list)
    prefixes: list[list[str]] = []
    for i, p in enumerate(prepared):
        rare = sorted((d, t) for t in p.tokens if 2 <= (d := df[t]) <= max_df)
        prefix: list[str] = []
        total = 0
        for d, t in rare[:_PREFIX_TOKENS]:
            total += d
            if prefix and total > budget:
                break
            prefix.append(t)
        prefixes.append(prefix)
        for t in prefix:
            postings[t].append(i)  # each list is in increasing order of i

    # Siblings as small ints: same group, or same path and line.
    group_ids: dict[str, int] = {}
    place_ids: dict[tuple[str, int], int] = {}
    group_of = [group_ids.setdefault(p.card.group, len(group_ids)) for p in prepared]
    place_of = [place_ids.setdefault((p.card.path, p.card.line), len(place_ids)) for p in prepared]

    fulls = [p.full for p in prepared]
    best: dict[tuple[int, int], tuple[float, CardText, CardText]] = {}
    for i, p in enumerate(prepared):
        candidates: set[int] = set()
        for t in prefixes[i]:
            lst = postings[t]
            candidates.update(lst[bisect_right(lst, i) :])
        if not candidates:
            continue
        g, place = group_of[i], place_of[i]
        others = [j for j in candidates if group_of[j] != g and place_of[j] != place]
        if not others:
            continue
        choices = [fulls[j] for j in others]
        for _, full, k in process.extract(
            p.full, choices, scorer=fuzz.ratio, score_cutoff=_SCREEN_CUTOFF, limit=None
        ):
            j = others[k]
            q = prepared[j]
            score = _score(p, q, full)
            if p.card.path == q.card.path:
                score *= _SAME_NOTE
            if score < threshold:
                continue
            # i < j and prepared is in _order_key order, so p.card sorts first.
            key = (g, group_of[j]) if g < group_of[j] else (group_of[j], g)
            old = best.get(key)
            if old is None or (-score, _order_key(p.card), _order_key(q.card)) < (
                -old[0],
                _order_key(old[1]),
                _order_key(old[2]),
            ):
                best[key] = (score, p.card, q.card)

    pairs = [DuplicatePair(a, b, round(s, 1)) for s, a, b in best.values()]
    pairs.sort(key=lambda d: (_order_key(d.first), _order_key(d.second)))
    return pairs


def _paragraph_starts(cards: Iterable[ParsedCard]) -> dict[int, int]:
    """Map each card's first line to the first line of its paragraph (cards on touching lines)."""
    starts: dict[int, int] = {}
    start, end = -2, -2
    for card in sorted(cards, key=lambda c: (c.line, c.end_line)):
        if card.line > end + 1:
            start = card.line
        end = max(end, card.end_line)
        starts[card.line] = start
    return starts


def _cloze_sides(card: ParsedCard) -> tuple[str, str]:
    """A cloze card as question (its deletions removed) and answer (the deleted text)."""
    hidden: list[str] = []

    def repl(m: re.Match[str]) -> str:
        content = m.group(1)
        em = EXPLICIT_CLOZE_RE.match(content)
        number = int(em.group(1)) if em else None
        body = (em.group(2) if em else content).partition("::")[0]
        if number == card.cloze:
            hidden.append(body)
            return " "
        return body

    question = CLOZE_RE.sub(repl, card.source)
    if not hidden:  # not in the expected form; fall back to what the learner sees
        return _CLOZE_PLACEHOLDER_RE.sub(" ", card.question), card.answer
    return question, " ".join(hidden)


def cards_from_notes(notes: Iterable[ParsedNote]) -> list[CardText]:
    """The cards of parsed notes (as ``read_vault`` returns them) as :class:`CardText`.

    A cloze card's question is its paragraph without this card's deletions and
    its answer the deleted text. The group is ``path#line`` of the card's
    paragraph, where cards on touching lines count as one paragraph: so the
    clozes of one paragraph, the two sides of ``:::`` and the cards written
    line after line in one paragraph are siblings.
    """
    out: list[CardText] = []
    for note in notes:
        starts = _paragraph_starts(note.cards)
        for card in note.cards:
            if card.kind == "cloze" and card.cloze is not None:
                question, answer = _cloze_sides(card)
            else:
                question, answer = card.question, card.answer
            out.append(CardText(note.path, card.line, question, answer, f"{note.path}#{starts[card.line]}"))
    return out


def duplicate_diagnostics(pairs: Sequence[DuplicatePair]) -> list[Diagnostic]:
    """One warning per pair (code ``duplicate``), at the later card, naming both places."""
    out = []
    for p in pairs:
        out.append(
            Diagnostic(
                p.second.path,
                p.second.line,
                f"this card asks what {p.first.path}:{p.first.line} asks (similarity {p.score:.0f}%); "
                "keep one and link to its note from the other",
                severity="warning",
                code="duplicate",
            )
        )
    return out
