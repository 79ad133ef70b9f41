"""Card quality: rule-based warnings that teach good cards (``check --quality``).

Pure: a parsed note and its text in, warnings out. Each warning names the card's
``path:line`` and carries a one-line fix hint. The rules follow the minimum-information
principle of spaced repetition (one small fact per card, answers a learner must
produce, not recognise):

- ``long-answer``: a basic card's answer has more than ``max_answer_words`` words
  (code blocks and display math are not counted: a worked example is its own kind of
  answer);
- ``long-list``: an answer enumerates more than ``max_list_items`` items, as list
  lines or as one comma series;
- ``giveaway``: the question already contains the answer;
- ``short-cloze``: a cloze hides a single letter or only stop words ("the", "not");
- ``cloze-pair``: two deletions of one paragraph, with different numbers, are the two
  halves of a pair (``{{c1::online}}`` / ``{{c2::offline}}``), so each card shows the
  other's answer;
- ``yes-no``: a question answerable by a coin flip ("Is ...?", "..., A or B?").

A card opts out of a rule with a comment on one of its lines or on the line above it:
``<!-- srs: allow-long -->`` (``allow-list``, ``allow-giveaway``, ``allow-short-cloze``,
``allow-cloze-pair``, ``allow-yes-no``; ``allow-all`` for every rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .lines import strip_comments
from .model import Diagnostic, ParsedCard, ParsedNote
from .text import split_lines

RULES: tuple[str, ...] = ("long-answer", "long-list", "giveaway", "short-cloze", "cloze-pair", "yes-no")

HINTS: dict[str, str] = {
    "long-answer": "split it into cards that each ask one fact, or keep the answer to its core",
    "long-list": "ask for each item (or the one that matters) on its own card",
    "giveaway": "ask for the reason or the consequence, so the answer is not in the question",
    "short-cloze": "hide the concept, not a letter or a filler word",
    "cloze-pair": "give both deletions one number, or ask for the contrast in a Q/A card",
    "yes-no": "ask why, how or which, so the answer must be produced, not guessed",
}

ALLOW_RE = re.compile(r"<!--\s*srs:\s*allow-([a-z-]+)\s*-->")
OPT_OUTS: dict[str, str] = {"long": "long-answer", "list": "long-list"}
"""``<!-- srs: allow-X -->``: X is the rule's name, or its short form (``long``, ``list``)."""

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "and",
        "or",
        "nor",
        "but",
        "not",
        "no",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "if",
        "than",
        "then",
        "so",
        "do",
        "does",
        "did",
        "has",
        "have",
        "had",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
    ]
)

AUXILIARIES = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "am",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "has",
        "have",
        "had",
        "must",
        "may",
        "might",
    ]
)

_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_LIST_RE = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+\S")
_CLOZE_RE = re.compile(r"\{\{c(\d+)::(.*?)(?:::(.*?))?\}\}", re.DOTALL)
_WORD_RE = re.compile(r"[A-Za-z0-9][\w'’-]*")
_TOKEN_RE = re.compile(r"\S+")
_PUNCT_ONLY_RE = re.compile(r"^[\W_]+$")
_LINK_RE = re.compile(r"!?\[\[([^\]|#]*)(?:#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_MD_LINK_RE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_INLINE_MATH_RE = re.compile(r"\$[^$\n]+\$")
_TAG_RE = re.compile(r"(?<![\w/])#[A-Za-z][\w/-]*")
_OR_TAIL_RE = re.compile(r"(?:^|[,:]\s*)([^,:?]{1,60}?)\s+or\s+([^,?]{1,40})\?\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class QualitySettings:
    """Thresholds and switches of the quality rules (config ``[check]``)."""

    max_answer_words: int = 40
    max_list_items: int = 3
    disabled: frozenset[str] = field(default_factory=frozenset)

    def enabled(self, rule: str) -> bool:
        """Whether ``rule`` runs."""
        return rule not in self.disabled


def _strip_blocks(markdown: str) -> str:
    """The text without fenced code blocks and ``$$`` display math."""
    out: list[str] = []
    fence: str | None = None
    in_math = False
    for line in split_lines(markdown):
        m = _FENCE_RE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        if line.strip().startswith("$$"):
            rest = line.strip()[2:]
            if in_math:
                in_math = False
            elif "$$" not in rest:
                in_math = True
            continue
        if in_math:
            continue
        out.append(line)
    return "\n".join(out)


def _visible(markdown: str) -> str:
    """Prose as a reader counts it: links as their text, inline math as one word, no tags or comments."""
    text = _LINK_RE.sub(lambda m: m.group(2) or m.group(1), strip_comments(markdown))
    text = _MD_LINK_RE.sub(lambda m: m.group(1), text)
    text = _INLINE_MATH_RE.sub("x", text)
    text = _TAG_RE.sub("", text)
    text = re.sub(r"\^[A-Za-z0-9-]+\s*$", "", text, flags=re.MULTILINE)
    return text


def word_count(markdown: str) -> int:
    """Words of an answer as the rules count them (code blocks and display math left out)."""
    text = _visible(_strip_blocks(markdown))
    return sum(1 for t in _TOKEN_RE.findall(text) if not _PUNCT_ONLY_RE.match(t))


def _content_words(text: str) -> list[str]:
    return [w for w in (w.lower().strip("'’-") for w in _WORD_RE.findall(text)) if w and w not in STOP_WORDS]


def list_items(markdown: str) -> int:
    """The longest enumeration in an answer: list lines, or the items of one comma series."""
    body = _strip_blocks(markdown)
    lines = split_lines(body)
    listed = sum(1 for line in lines if _LIST_RE.match(line))
    series = 0
    prose = " ".join(line for line in lines if not _LIST_RE.match(line))
    prose = _visible(prose)
    # Parentheses hold asides, not items of the sentence's own series.
    prose = re.sub(r"\([^()]*\)", "", prose)
    for sentence in re.split(r"[.;:!?](?:\s|$)", prose):
        parts = [p.strip() for p in re.split(r",\s*|\s+(?:and|or)\s+", sentence) if p.strip()]
        if sentence.count(",") >= 2 and len(parts) >= 4:
            short = [p for p in parts if len(p.split()) <= 4]
            # A series: every item but the first (which may carry the sentence's lead-in) is short.
            if len(short) >= len(parts) - 1 and all(len(p.split()) <= 4 for p in parts[1:]):
                series = max(series, len(parts))
    return max(listed, series)


def _normal(text: str) -> str:
    return " ".join(w.lower() for w in _WORD_RE.findall(_visible(text)))


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _acronym_of(token: str, words: Sequence[str]) -> bool:
    if len(token) < 3 or not token.isalpha() or token.lower() in STOP_WORDS:
        return False
    letters = token.lower()
    initials = [w[0].lower() for w in words if w]
    return any(
        "".join(initials[i : i + len(letters)]) == letters for i in range(len(initials) - len(letters) + 1)
    )


def gives_away(question: str, answer: str) -> bool:
    """Whether the question already holds the answer.

    True when a short answer (at most six content words) appears whole in the question,
    when two thirds of its content words do, or when it is the acronym the question spells out.
    """
    plain_answer = _INLINE_MATH_RE.sub(" ", _strip_blocks(answer))
    answer_words = _content_words(_visible(plain_answer))
    if not answer_words or len(answer_words) > 6:
        return False
    norm_answer = _normal(plain_answer)
    norm_question = _normal(question)
    if len(norm_answer) >= 2 and f" {norm_answer} " in f" {norm_question} ":
        return True
    question_words = {_stem(w) for w in _content_words(_visible(question))}
    shared = sum(1 for w in answer_words if _stem(w) in question_words)
    if len(answer_words) >= 2 and shared * 3 >= len(answer_words) * 2:
        return True
    question_tokens = _WORD_RE.findall(_visible(question))
    return any(_acronym_of(t, question_tokens) for t in _WORD_RE.findall(plain_answer))


def is_yes_no(question: str) -> bool:
    """A question answered by yes, no, or a pick between two named options."""
    text = _visible(question).strip()
    words = _WORD_RE.findall(text)
    if not words:
        return False
    first = words[0].lower()
    if first in AUXILIARIES and text.endswith("?"):
        return True
    tail = _OR_TAIL_RE.search(text)
    return bool(tail and first in {"which", "whether"})


def _deletions(source: str) -> list[tuple[int, str]]:
    return [(int(m.group(1)), m.group(2).strip()) for m in _CLOZE_RE.finditer(source)]


def is_short_cloze(text: str) -> bool:
    """A deletion that hides a single letter or only filler words."""
    math = text.strip()
    if len(math) > 2 and math.startswith("$") and math.endswith("$"):
        # A formula is content; only a single bare symbol ($h$) hides too little.
        inner = math.strip("$").strip()
        return len(inner) == 1 and inner.isalpha()
    visible = _visible(text).strip()
    words = _WORD_RE.findall(visible)
    if not words:
        return len(visible) <= 1
    if len(words) == 1 and len(words[0]) == 1 and words[0].isalpha():
        return True
    return all(w.lower() in STOP_WORDS for w in words)


def _paired(a: str, b: str) -> bool:
    wa = [w.lower() for w in _WORD_RE.findall(_visible(a))]
    wb = [w.lower() for w in _WORD_RE.findall(_visible(b))]
    if not wa or not wb or len(wa) > 3 or len(wb) > 3 or wa == wb:
        return False
    if {w for w in wa if len(w) >= 3 and w not in STOP_WORDS} & {
        w for w in wb if len(w) >= 3 and w not in STOP_WORDS
    }:
        return True
    x, y = " ".join(wa), " ".join(wb)
    prefix = len(_common_prefix(x, y))
    suffix = len(_common_prefix(x[::-1], y[::-1]))
    return (prefix >= 2 and max(len(x), len(y)) <= 8) or suffix >= 4


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for ca, cb in zip(a, b, strict=False):
        if ca != cb:
            break
        n += 1
    return a[:n]


def _allowed(lines: Sequence[str], card: ParsedCard) -> set[str]:
    allowed: set[str] = set()
    first = max(0, card.line - 2)
    for line in lines[first : card.end_line]:
        allowed.update(OPT_OUTS.get(name, name) for name in ALLOW_RE.findall(line))
    return allowed


def check_note(note: ParsedNote, text: str, settings: QualitySettings | None = None) -> list[Diagnostic]:
    """The quality warnings of one parsed note, in line order.

    Args:
        note: The note as ``parse_note`` returned it.
        text: The note's text (opt-out comments are read from it).
        settings: Thresholds and disabled rules; the defaults when ``None``.

    Returns:
        One ``Diagnostic`` (severity ``warning``, code ``quality/<rule>``) per card and rule
        broken, with the fix hint in its message.
    """
    settings = settings or QualitySettings()
    lines = split_lines(text)
    found: list[tuple[int, str, str]] = []
    seen_paragraphs: set[int] = set()
    for card in note.cards:
        allowed = _allowed(lines, card)

        def warn(rule: str, what: str, card: ParsedCard = card, allowed: set[str] = allowed) -> None:
            if settings.enabled(rule) and rule not in allowed and "all" not in allowed:
                found.append((card.line, rule, what))

        if card.kind == "basic":
            if gives_away(card.question, card.answer):
                warn("giveaway", "the question contains its own answer")
            if card.direction == "forward":
                n = word_count(card.answer)
                if n > settings.max_answer_words:
                    warn("long-answer", f"answer has {n} words (limit {settings.max_answer_words})")
                items = list_items(card.answer)
                if items > settings.max_list_items:
                    warn("long-list", f"answer lists {items} items (limit {settings.max_list_items})")
                if is_yes_no(card.question):
                    warn("yes-no", "a yes/no or either-or question can be answered by a guess")
            continue
        if card.line in seen_paragraphs:
            continue
        seen_paragraphs.add(card.line)
        deletions = _deletions(card.source)
        for _, hidden in deletions:
            if is_short_cloze(hidden):
                warn("short-cloze", f"the cloze {{{{{_shown(hidden)}}}}} hides too little to recall")
                break
        pair = _first_pair(deletions)
        if pair is not None:
            warn(
                "cloze-pair",
                f"the clozes {{{{{_shown(pair[0])}}}}} and {{{{{_shown(pair[1])}}}}} reveal each other",
            )
    found.sort(key=lambda f: (f[0], RULES.index(f[1])))
    return [
        Diagnostic(note.path, line, f"{what} [{rule}]: {HINTS[rule]}", "warning", f"quality/{rule}")
        for line, rule, what in found
    ]


def _shown(text: str) -> str:
    """Card text quoted in a one-line message: whitespace folded, at most 40 characters."""
    flat = " ".join(text.split())
    flat = "".join(c if c.isprintable() else "?" for c in flat)
    return flat if len(flat) <= 40 else flat[:39] + "…"


def _first_pair(deletions: Iterable[tuple[int, str]]) -> tuple[str, str] | None:
    items = list(deletions)
    for i, (na, a) in enumerate(items):
        for nb, b in items[i + 1 :]:
            if na != nb and _paired(a, b):
                return a, b
    return None
