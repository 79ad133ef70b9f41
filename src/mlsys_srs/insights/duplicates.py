"""Duplicate cards: two cards in different places that ask the same thing.

A pure library module (no file system, no database): cards in, pairs out.
:func:`duplicate_diagnostics` turns each pair into a warning; the caller
decides what to print.

What counts as the same thing
-----------------------------

A card is compared by its *terms* (:mod:`.card_terms`): the content words of its
question and of its answer, stemmed ("forces" and "forcing" are one term, so are
"recomputes" and "recomputation") and a few synonyms joined ("keeps" and "stores"), with
numbers and the units that follow them joined ("15 GB" is ``15gb``) and fenced
code left out. Every term has a weight, its inverse document frequency over the
vault, ``ln((N' + 1) / df)``, where ``df`` counts the cards that hold the term and
``N'`` the cards of the vault, but at least 1,000 (a small vault is weighed as a
sample of a larger one, so a term seen in a few of its cards still counts as
specific). A rare term ("associative", ``no_sync``, ``15gb``) says much more
about what a card asks than a common one ("GPU", "memory").

Two scores are computed for a pair, each from 0 to 100; the pair is reported when
the higher one reaches the threshold (:data:`DEFAULT_THRESHOLD`, 70):

- **Words** (:func:`_word_score`): the share of distinct terms the two cards have
  in common, every term counted once (Dice's coefficient), for the whole cards and
  for question and answer weighted 35/65 and 65/35. It finds copies and light
  rewordings, including a cloze and a Q/A card of one sentence. It is lowered
  when the two questions name different numbers (by 0.7 when they share none:
  "ZeRO stage 1" and "ZeRO stage 3" ask different things, rising to 0.95 as they
  share more), likewise from 0.8 when the answers name different plain numbers
  ("32 GB/s" against "64 GB/s"), and by 0.7 when both answers are short (at most
  four terms) and share none (one sentence with two different blanks).

- **Meaning** (:func:`_meaning_score`), for cards of different notes: the same fact
  asked in other words. It weighs terms by rarity and rests on the answers, which
  carry the fact. It is the best of three views, each scaled so that its tuned
  threshold scores 70:

  * *same answer* (:data:`_ANSWER_AT`): ``sqrt(A * P)``, where ``A`` is the
    weighted cosine similarity of the two answers' terms and ``P`` that of their
    *phrases*, the pairs of terms next to each other once stopwords are gone. A
    shared phrase such as "forces the CPU to wait" or "floating-point addition is
    not associative" is what two answers of one fact have and two answers of
    neighbouring facts lack, though both share the topic's words ("bucket",
    "all-reduce", "backward"). Both answers must say something (weight at least
    :data:`_MIN_ANSWER`), and the view is lowered by 0.8 when only one of them
    gives numbers (a card asking for a figure asks something else);
  * *same figures* (:data:`_FIGURES_AT`): the weighted cosine ``F`` of the whole
    cards, when they share at least four numbers with units. "70B in BF16 on two
    80 GB GPUs leaves about 15 GB for the KV cache" asked twice shares ``70b``,
    ``80gb``, ``140gb``, ``15gb`` and ``320kib``;
  * *same blank* (:data:`_BLANK_AT`): ``F``, when one card's answer is one to three
    rare words (in at most 0.5% of the cards; a cloze deletion, an identifier such
    as ``no_sync()``) that the other card's answer contains.

  The same-answer and same-blank views are lowered like the word score when the
  cards name different numbers, except that numbers of one card that are all
  among the other's agree.

Within one note only the word score counts, multiplied by 0.8: neighbouring cards
of a note are often a deliberate contrast in shared wording, so only near-copies
are reported there. Cards of one group (the clozes of a paragraph, the two
directions of a ``:::`` card) are never compared.

The thresholds were tuned on three sets of cards, held by the tests in
``tests/test_duplicates.py``: the frozen copy of the bundled notes before their
duplicate clean-up (``tests/golden/notes``, 1,334 cards, in which a reviewer found
18 clusters of one fact asked twice; every pair reported there is a true duplicate),
fixture vaults (``tests/duplicates/``) that restage those cases and ask four of
them again in new words, next to cards that share terms but ask different things,
and the bundled notes, which have none. Paraphrases that share few terms ("why is
decode memory-bound?" against "why is prefill compute-bound while decode is
memory-bound?", answered in different words) stay beyond a comparison of terms.

How it stays fast
-----------------

Each card keeps three short strings of term codes (question, answer, whole card),
so that ``set`` and ``rapidfuzz`` work on them in C; the whole card's codes are
ranked by document frequency, rarest first. Candidates come from an inverted index,
not from all pairs: each card is indexed under its few rarest terms held by two
cards or more; a term in too many cards is never indexed, and the postings a card
may add are bounded by a budget that shrinks as the vault grows, so the work stays
near linear. Candidates are screened in C on the share of terms in common
(``rapidfuzz``'s ratio of the sorted codes, :data:`_SCREEN_CUTOFF`) before a score is
computed in Python.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, pairwise
from operator import attrgetter, methodcaller

from rapidfuzz import fuzz, process

from ..parse.clozes import CLOZE_RE, EXPLICIT_CLOZE_RE
from ..parse.model import Diagnostic, ParsedCard, ParsedNote
from .card_terms import Terms, code, is_quantity, plain_words

__all__ = [
    "DEFAULT_THRESHOLD",
    "CardText",
    "DuplicatePair",
    "cards_from_notes",
    "duplicate_diagnostics",
    "find_duplicates",
    "normalize",
    "similarity",
]

#: Score (0-100) at or above which two cards are reported; see :func:`similarity`.
DEFAULT_THRESHOLD = 70.0

# Candidate generation. A card is indexed under its rarest terms, at most
# _PREFIX_TERMS of them, while their document frequencies add up to at most the
# budget (always at least one term). The budget spreads _WORK postings over the
# cards, within the bounds: a small vault is compared almost exhaustively, a
# large one in bounded time.
_PREFIX_TERMS = 8
_WORK = 4_000_000
_MIN_BUDGET, _MAX_BUDGET = 16, 4096
# A term in more cards than this is never indexed (the largest of these bounds
# and budget // 8).
_MAX_DF_ABSOLUTE = 64
_MAX_DF_FRACTION = 0.001
# Candidates are first screened on the share of terms in common at this score.
_SCREEN_CUTOFF = 33.0

# Scoring.
_MIN_CARDS = 1000  # the vault size below which weights are computed as for this many cards
_SAME_NOTE = 0.8
_SHORT_ANSWER = 4  # terms: answers this short that share none ask for different things
_MIN_ANSWER = 20.0  # weight: an answer with less says too little for the "same answer" view
_ANSWER_AT = 0.35  # sqrt(A * P) that scores 70
_ONE_SIDED_FIGURES = 0.8  # the "same answer" factor when only one answer gives numbers
_MIN_FIGURES = 4  # figures in common for the "same figures" view
_FIGURES_AT = 0.45  # F with that many figures in common that scores 70
_BLANK_AT = 0.35  # F of a contained rare blank that scores 70
_BLANK_MAX = 3  # terms: a blank this short, all of them rare, can be contained
_BLANK_RARE_SHARE = 200  # ...rare meaning in at most 0.5% of the cards (or in two)


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


def normalize(text: str) -> str:
    """Reduce card Markdown to lower-case words separated by single spaces.

    ``{{c1::x::hint}}`` becomes ``x``, ``[[a|b]]`` becomes ``b``, ``[[a]]``
    becomes ``a``, ``[text](url)`` becomes ``text``; inline code and math keep
    their words and numbers; ``#tags``, trailing block ids (``^id``) and
    punctuation are dropped; whitespace is collapsed.
    """
    return " ".join(plain_words(text))


# -- the prepared vault ------------------------------------------------------------------


_NUMBER, _PLAIN, _FIGURE, _GIVEN = 1, 2, 4, 8  # flags of a term


class _Vault:
    """Every card as a sorted string of the term codes of the whole card (``full``).

    Codes are ranked (``ranked`` translates the codes terms got when first met): the
    rarest term shared by two cards or more is the first character after U+0000,
    terms held by one card only come last, so a card's rarest terms lead its
    string. ``df[ord(c)]`` counts the cards that hold term ``c`` and
    ``flags[ord(c)]`` says what kind of number it is; a term's weight,
    ``ln(scale / df)`` (:meth:`weight`), is computed when a pair is scored. The
    question's and the answer's codes (:meth:`sides`) are worked out only for the
    cards that are scored.
    """

    def __init__(self, cards: Sequence[CardText]) -> None:
        self.cards = cards
        self.terms = terms = Terms()
        # (map chains: the per-card work runs in C, without a Python loop)
        full = list(map(terms.of_card, map(_QUESTION, cards), map(_ANSWER, cards)))
        counts = Counter(chain.from_iterable(full))
        n = len(cards)
        order = sorted(counts, key=lambda c: (counts[c] if counts[c] > 1 else n + 1, c))
        size = ord(code(len(order))) + 1
        self.df = df = [0] * size
        self.flags = flags = bytearray(size)
        ranked = [""] * len(terms.names)
        for r, c in enumerate(order, 1):
            new = code(r)
            ranked[ord(c) if ord(c) < 0xD800 else ord(c) - 0x800] = new
            df[ord(new)] = counts[c]
            name = terms.name(c)
            if name[:1].isdigit():
                # Numbers ("3", "4.0", "15gb", "2x"; not names such as "fp16" or "h100"),
                # plain numbers ("15", "1.25"), figures (numbers with a unit: "15gb",
                # "70b", "4096token") and the numbers an answer gives (a figure, or a
                # plain number of two digits or more).
                kind = _NUMBER
                if name.replace(".", "", 1).isdigit():
                    kind |= _PLAIN | (_GIVEN if len(name) > 1 else 0)
                elif is_quantity(name):
                    kind |= _FIGURE | _GIVEN
                flags[ord(new)] = kind
        # A translation table from first-seen codes to ranked ones, indexed by code point.
        self.ranked = ranked_table = "".join(c or code(i) for i, c in enumerate(ranked))
        self.full = list(map("".join, map(sorted, map(methodcaller("translate", ranked_table), full))))
        self.scale = max(n, _MIN_CARDS) + 1
        self.rare_df = max(2, n // _BLANK_RARE_SHARE)
        self._phrases: dict[int, dict[str, float]] = {}

    def sides(self, i: int) -> tuple[str, str]:
        """The ranked term codes of a card's question and of its answer."""
        card, ranked = self.cards[i], self.ranked
        return self.terms.of(card.question).translate(ranked), self.terms.of(card.answer).translate(ranked)

    def weight(self, terms: Iterable[str]) -> float:
        """The summed weight (inverse document frequency) of terms."""
        df, scale, log = self.df, self.scale, math.log
        return sum(log(scale / df[ord(c)]) for c in terms)

    def having(self, terms: set[str], flag: int) -> set[str]:
        """The terms with a flag (``_NUMBER``, ``_PLAIN``, ``_FIGURE``, ``_GIVEN``)."""
        flags = self.flags
        return {c for c in terms if flags[ord(c)] & flag}

    def answer_phrases(self, i: int) -> dict[str, float]:
        """The answer's pairs of neighbouring terms (two-character strings) and their weights."""
        out = self._phrases.get(i)
        if out is None:
            seq = self.terms.sequence(self.cards[i].answer).translate(self.ranked)
            df, scale, log = self.df, self.scale, math.log
            out = {}
            for x, y in pairwise(seq):
                if x != y:
                    out[x + y] = (log(scale / df[ord(x)]) + log(scale / df[ord(y)])) / 2
            self._phrases[i] = out
        return out


# -- scores -------------------------------------------------------------------------------


class _Side:
    """One card's term sets and weights, built once per card that is being compared."""

    __slots__ = ("a", "a_w", "blank", "f", "f_w", "gives_numbers", "q")

    def __init__(self, v: _Vault, i: int) -> None:
        q, a = v.sides(i)
        self.q = set(q)
        self.a = set(a)
        self.f = self.q | self.a
        self.a_w = v.weight(self.a)
        self.f_w = v.weight(self.f)
        self.gives_numbers = bool(v.having(self.a, _GIVEN))
        # A short answer of rare words (no number): a blank that another card's answer
        # can contain.
        df = v.df
        self.blank = (
            0 < len(self.a) <= _BLANK_MAX
            and not v.having(self.a, _NUMBER)
            and all(df[ord(c)] <= v.rare_df for c in self.a)
        )


def _dice(x: set[str], y: set[str]) -> float:
    return 200.0 * len(x & y) / (len(x) + len(y)) if x or y else 0.0


def _number_factor(x: set[str], y: set[str], low: float, subset_agrees: bool = False) -> float:
    """1 unless both name numbers and differ: ``low`` when they share none, up to 0.95.

    With ``subset_agrees``, numbers of one side that are all among the other's agree.
    """
    if not x or not y or x == y or (subset_agrees and (x <= y or y <= x)):
        return 1.0
    return low + (0.95 - low) * len(x & y) / len(x | y)


def _number_factors(v: _Vault, s: _Side, t: _Side, subset_agrees: bool = False) -> float:
    """The factors for different numbers in the questions (from 0.7) and in the answers (from 0.8)."""
    return _number_factor(
        v.having(s.q, _NUMBER), v.having(t.q, _NUMBER), 0.7, subset_agrees
    ) * _number_factor(v.having(s.a, _PLAIN), v.having(t.a, _PLAIN), 0.8, subset_agrees)


def _word_score(v: _Vault, s: _Side, t: _Side) -> float:
    """The share of terms in common, 0-100 (see the module docstring)."""
    score = _dice(s.f, t.f)
    if len(s.a) >= 2 and len(t.a) >= 2:
        q = _dice(s.q, t.q)
        a = _dice(s.a, t.a)
        score = max(score, 0.35 * q + 0.65 * a, 0.65 * q + 0.35 * a)
    score *= _number_factors(v, s, t)
    if 0 < len(s.a) <= _SHORT_ANSWER and 0 < len(t.a) <= _SHORT_ANSWER and s.a.isdisjoint(t.a):
        score *= 0.7
    return score


def _meaning_views(v: _Vault, i: int, j: int, s: _Side, t: _Side) -> tuple[float, float, float, float]:
    """(F, same answer, same figures, same blank): the raw values of the meaning score."""
    f = v.weight(s.f & t.f) / math.sqrt(s.f_w * t.f_w) if s.f_w and t.f_w else 0.0
    answer = 0.0
    if s.a_w >= _MIN_ANSWER and t.a_w >= _MIN_ANSWER:
        a = v.weight(s.a & t.a) / math.sqrt(s.a_w * t.a_w)
        if a >= 0.2:
            x, y = v.answer_phrases(i), v.answer_phrases(j)
            common = x.keys() & y.keys()
            if common:
                p = sum(x[k] for k in common) / math.sqrt(sum(x.values()) * sum(y.values()))
                answer = math.sqrt(a * p)
                if s.gives_numbers != t.gives_numbers:  # one answer gives numbers, the other none
                    answer *= _ONE_SIDED_FIGURES
    figures = f if len(v.having(s.f & t.f, _FIGURE)) >= _MIN_FIGURES else 0.0
    blank = f if (s.blank and s.a <= t.a) or (t.blank and t.a <= s.a) else 0.0
    return f, answer, figures, blank


def _meaning_score(v: _Vault, i: int, j: int, s: _Side, t: _Side) -> float:
    """The same fact in other words, 0-100 (see the module docstring)."""
    _, answer, figures, blank = _meaning_views(v, i, j, s, t)
    factors = _number_factors(v, s, t, subset_agrees=True)
    score = 70.0 * max(answer * factors / _ANSWER_AT, figures / _FIGURES_AT, blank * factors / _BLANK_AT)
    return min(100.0, score)


def _pair_score(v: _Vault, i: int, j: int, s: _Side, t: _Side) -> float:
    if v.cards[i].path == v.cards[j].path:
        # Cards of one note are often a deliberate contrast in shared wording: only
        # near-copies count there.
        return _word_score(v, s, t) * _SAME_NOTE
    return max(_word_score(v, s, t), _meaning_score(v, i, j, s, t))


def similarity(a: CardText, b: CardText) -> float:
    """How alike two cards are, 0 to 100, ignoring their groups.

    The higher of the word and meaning scores of the module docstring, computed as
    if the two cards were the whole vault (so term weights are those of a small
    vault); for two cards of one note, the word score times 0.8.
    """
    v = _Vault([a, b])
    return _pair_score(v, 0, 1, _Side(v, 0), _Side(v, 1))


# -- the search ---------------------------------------------------------------------------


_ORDER_KEY = attrgetter("path", "line", "group", "question", "answer")
_QUESTION = attrgetter("question")
_ANSWER = attrgetter("answer")


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
    # Identical cards (cloze siblings written the same way, repeated input) are
    # compared once.
    by_key = dict(zip(map(_ORDER_KEY, cards), cards, strict=True))
    ordered = [by_key[k] for k in sorted(by_key)]
    del by_key
    v = _Vault(ordered)
    n = len(ordered)

    budget = min(_MAX_BUDGET, max(_MIN_BUDGET, _WORK // max(n, 1)))
    max_df = max(_MAX_DF_ABSOLUTE, int(_MAX_DF_FRACTION * n), budget // 8)
    df = v.df
    postings: dict[str, list[int]] = {}
    prefixes: list[str] = []
    for i, full in enumerate(v.full):
        prefix = ""
        total = 0
        for c in full:  # rarest first; terms of this card only (df 1) come last
            d = df[ord(c)]
            if d < 2 or d > max_df:
                break
            total += d
            if prefix and (total > budget or len(prefix) == _PREFIX_TERMS):
                break
            prefix += c
        prefixes.append(prefix)
        for c in prefix:
            postings.setdefault(c, []).append(i)  # each list is in increasing order of i

    fulls = v.full
    best: dict[tuple[str, str], tuple[float, int, int]] = {}
    for i, prefix in enumerate(prefixes):
        if len(prefix) == 1:
            lst = postings[prefix]
            if lst[-1] == i:  # the last card of its only posting: nothing after it
                continue
            candidates: Iterable[int] = lst[bisect_right(lst, i) :]
        else:
            found: set[int] = set()
            for c in prefix:
                lst = postings[c]
                if lst[-1] != i:
                    found.update(lst[bisect_right(lst, i) :])
            if not found:
                continue
            candidates = found
        others = candidates if isinstance(candidates, list) else list(candidates)
        matches = process.extract(
            fulls[i], [fulls[j] for j in others], scorer=fuzz.ratio, score_cutoff=_SCREEN_CUTOFF, limit=None
        )
        if not matches:
            continue
        card = ordered[i]
        s: _Side | None = None
        for _, _, k in matches:
            j = others[k]
            other = ordered[j]
            # Siblings (one group), or two cards at one place, are never compared.
            if other.group == card.group or (other.line == card.line and other.path == card.path):
                continue
            if s is None:
                s = _Side(v, i)
            score = _pair_score(v, i, j, s, _Side(v, j))
            if score < threshold:
                continue
            # i < j and ordered is in _order_key order, so card i sorts first.
            key = (card.group, other.group) if card.group < other.group else (other.group, card.group)
            old = best.get(key)
            if old is None or (-score, i, j) < (-old[0], old[1], old[2]):
                best[key] = (score, i, j)

    pairs = [DuplicatePair(ordered[i], ordered[j], round(s, 1)) for s, i, j in best.values()]
    pairs.sort(key=lambda d: (_order_key(d.first), _order_key(d.second)))
    return pairs


# -- from parsed notes, to diagnostics -----------------------------------------------------


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


_CLOZE_PLACEHOLDER_RE = re.compile(r"\[[^\[\]\n]*\]")


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
