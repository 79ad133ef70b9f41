"""Card text as the duplicate detector sees it: Markdown reduced to words, words to terms.

A pure helper of :mod:`.duplicates` (no file system, no database). It owns the
reduction of a card's Markdown to what a reader sees (:func:`plain_words`, the
words of :func:`~.duplicates.normalize`) and to *terms* (:class:`Terms`), the units
the detector compares:

- words are case folded and stopwords dropped; a light suffix stemmer makes
  "forces", "forcing" and "forced" one term (``forc``), "decode" and
  "decoding" another, and "recompute" and "recomputation" (and British
  "quantise" and American "quantize") a third;
- a few words that card text uses for one another are one term ("keeps" and
  "stores", "recalculates" and "recomputes", "additional" and "extra");
- numbers written as words ("two" to "twelve") are numbers;
- identifiers keep their underscores (``no_sync``, ``record_stream``);
- a number followed by a unit of size, time, rate or count is also one term,
  whether written apart or together: "15 GB", "15GB" and "15 gb" all give
  ``15gb``, "8K-token" gives ``8k``, "46,000 tokens" gives ``46000token``;
  "2x80" is two numbers;
- fenced code blocks are left out of a text that has other words (a card's code
  repeats identifiers, not the fact it asks for).

A term is a one-character *code* (:func:`code`), so the terms of a card side are a
short string that ``set`` and ``rapidfuzz`` handle in C.
"""

from __future__ import annotations

import re
import unicodedata

from ..parse.clozes import CLOZE_RE, EXPLICIT_CLOZE_RE
from ..parse.text import MDLINK_RE, TAG_RE, WIKILINK_RE

__all__ = ["STOPWORDS", "Terms", "code", "is_quantity", "plain_words", "stem"]

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
#: Words that carry no fact of their own.
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_DROPPED = STOPWORDS

_WORD_RE = re.compile(r"[^\W_]+")  # the words of plain_words/normalize
# Terms: a number (with decimals or thousands separators) and the letters glued to
# it ("70b", "1.25gib"), or a word that may hold digits and underscores.
_TERM_RE = re.compile(r"\d+(?:[.,]\d+)*[^\W\d_]*|[^\W\d_][\w]*")
# A number and the unit after it, apart or hyphenated: "15 gb", "4096-token" (a unit
# written against its number, "15gb", is one term already).
_QUANTITY_RE = re.compile(r"(?:(?<=\d[x\u00d7])|(?<![\w.,]))(\d+(?:[.,]\d+)*)(?: |-| - )([^\W\d_]{1,12})\b")
# What may follow a number to make a quantity: units of size, time, rate and count.
_UNIT_TEXT = """
    b kb mb gb tb pb kib mib gib tib bit bits byte bytes flop flops gflop gflops tflop tflops pflop
    pflops op ops tops w kw mw v hz khz mhz ghz s ms us ns min h hours days x k m million billion
    thousand trillion token tokens layer layers head heads gpu gpus node nodes core cores thread threads
    warp warps lane lanes rank ranks step steps epoch epochs parameter parameters params way ways
    dimensions dimensional percent times cycle cycles
"""
_UNITS = frozenset(_UNIT_TEXT.split())
_TIMES_RE = re.compile(r"(?<=\d)[x\u00d7](?=\d)")  # "2x80": two numbers
_BLOCK_ID_LINE_RE = re.compile(r"(?:^|\s)\^[A-Za-z0-9-]+[ \t]*$", re.MULTILINE)
_FENCE_RE = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)", re.MULTILINE | re.DOTALL)
_SUFFIXES = ("ing", "ed", "es", "s", "e")
_DERIVED_SUFFIXES = ("ations", "ation", "ating", "ated", "ates", "ate")
# British "-ise" endings after the letters that make the verbs of card text
# (normalise, materialise, optimise, synchronise, tokenise, quantise), not
# "promise", "precise" or "expertise".
_BRITISH_RE = re.compile(r"(?:al|ar|im|on|en|nt|il)i(s)(?:e|ed|es|ing|ation|ations)$")
_EDGE_PUNCTUATION = ".,;:!?()[]{}\"'`*<>/|"


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


def _visible(text: str) -> str:
    """Card Markdown as the reader sees it, case folded: cloze and link syntax, tags, block ids gone."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if "{{" in text:
        text = CLOZE_RE.sub(_cloze_text, text)
    if "[[" in text:
        text = WIKILINK_RE.sub(_wikilink_text, text)
    if "](" in text:
        text = MDLINK_RE.sub(lambda m: " " + m.group(2) + " ", text)
    if "^" in text:
        text = _BLOCK_ID_LINE_RE.sub(" ", text)
    if "#" in text:
        text = TAG_RE.sub(" ", text)
    return text.casefold()


_QUANTITY_TERM_RE = re.compile(r"\d+(?:\.\d+)?([a-z]+)")


def is_quantity(term: str) -> bool:
    """Whether a term is a number with a unit: ``15gb``, ``70b``, ``4096token`` (not ``1f1b``)."""
    m = _QUANTITY_TERM_RE.fullmatch(term)
    return m is not None and (m.group(1) in _UNITS or stem(m.group(1)) in _UNIT_STEMS)


def plain_words(text: str) -> list[str]:
    """The words of card Markdown, lower case, without markup or punctuation (see ``normalize``)."""
    return _WORD_RE.findall(_visible(text))


def stem(word: str) -> str:
    """A word's stem: one common suffix stripped, keeping at least four letters.

    Inflections go ("ing", "ed", "es", "s", "e"): ``forces``, ``forcing`` and
    ``forced`` become ``forc``; ``caches`` and ``cache`` become ``cach``; ``bytes``
    becomes ``byte``. So do the verb endings "ate" and "ation" with theirs:
    ``recomputation``, ``recomputes`` and ``recompute`` are all ``recomput``,
    ``allocation`` and ``allocated`` both ``alloc``. British "-ise" and "-isation"
    are read as "-ize" and "-ization" (``materialises`` is ``materializ``). Words of
    four letters or fewer, and words ending in "ss", are kept as they are.
    """
    if len(word) <= 4 or not word.isalpha() or word.endswith("ss"):
        return word
    m = _BRITISH_RE.search(word)
    if m:
        word = word[: m.start(1)] + "z" + word[m.end(1) :]
    for suffixes in (_DERIVED_SUFFIXES, _SUFFIXES):
        for suffix in suffixes:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                return word[: -len(suffix)]
    return word


_UNIT_STEMS = frozenset(stem(u) for u in _UNITS)


# Numbers written as words are numbers ("one" is a stopword: "one of the ...").
_NUMBER_WORD_TEXT = "two three four five six seven eight nine ten eleven twelve"
_NUMBER_WORDS = {w: str(n) for n, w in enumerate(_NUMBER_WORD_TEXT.split(), 2)}


# Words that card text uses for one another, as "word:its-stand-in" (both stemmed).
# Only words that mean the same in every sense card text uses them in: not
# "partition" (a network partition is not a shard) nor "lower" (lower precision).
_SYNONYM_TEXT = """
    recalculate:recompute additional:extra keep:store retain:store need:require cut:reduce
    decrease:reduce shrink:reduce grow:increase large:big huge:big tiny:small quick:fast
    prevent:avoid
"""
_SYNONYMS = {
    stem(word): stem(stand_in)
    for word, _, stand_in in (pair.partition(":") for pair in _SYNONYM_TEXT.split())
}


def _term(word: str) -> str:
    """The term of one matched word ('' to drop it)."""
    if word[0].isdigit():
        number = word.rstrip("abcdefghijklmnopqrstuvwxyz") if not word.isdigit() else word
        unit = word[len(number) :]
        number = number.replace(",", "")
        return number + stem(unit) if unit else number
    word = word.strip("_")
    if not word or word in _DROPPED:
        return ""
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    term = stem(word)
    return _SYNONYMS.get(term, term)


def code(term_id: int) -> str:
    """The one-character code of a term id (surrogates skipped): terms compare as characters."""
    return chr(term_id if term_id < 0xD800 else term_id + 0x800)


class Terms(dict[str, str]):
    """Term codes of words, learnt as they come: ``terms[token]`` is the codes of a token's terms.

    A code is one character (:func:`code` of the term's id; ids count up from 1 in
    order of first appearance), so a card side is a short string that ``rapidfuzz``
    and ``set`` handle in C. A token is a piece of text between spaces, punctuation
    and all; each distinct token is split into terms once, when first met: it holds
    no term (a stopword: empty codes), one (``throughput?``) or several
    (``torch.cuda.synchronize()``). :attr:`names` lists the terms by id.
    """

    def __init__(self) -> None:
        super().__init__()
        self._codes: dict[str, str] = {"": ""}
        self.names: list[str] = [""]
        self._numbers: set[str] = set()  # codes of terms that start with a digit

    def __missing__(self, token: str) -> str:
        core = token.strip(_EDGE_PUNCTUATION)
        if core.isalpha():  # the common case: one word, maybe with punctuation around it
            words = [core]
        elif "x" in token or "\u00d7" in token:
            words = _TERM_RE.findall(_TIMES_RE.sub(" \u00d7 ", token))
        else:
            words = _TERM_RE.findall(token)
        out = []
        for word in words:
            term = _term(word)
            c = self._codes.get(term)
            if c is None:
                c = self._codes[term] = code(len(self.names))
                self.names.append(term)
                if term[:1].isdigit():
                    self._numbers.add(c)
            out.append(c)
        codes = self[token] = "".join(out)
        return codes

    def name(self, c: str) -> str:
        """The term a code stands for."""
        i = ord(c)
        return self.names[i if i < 0xD800 else i - 0x800]

    def of(self, text: str) -> str:
        """The distinct term codes of one card side (question or answer), in no order."""
        return self._codes_of(_prose(text))

    def of_card(self, question: str, answer: str) -> str:
        """The distinct term codes of a whole card (question and answer), in no order."""
        return self._codes_of(_prose(question) + "\n" + _prose(answer))

    def _codes_of(self, visible: str) -> str:
        codes = "".join(set("".join(map(self.__getitem__, visible.split()))))
        if self._numbers.isdisjoint(codes):
            return codes
        quantities = [
            self[m.group(1) + m.group(2)]
            for m in _QUANTITY_RE.finditer(visible)
            if m.group(2) in _UNITS and _starts_number(visible, m.start())
        ]
        return "".join(set(codes).union(*quantities)) if quantities else codes

    def sequence(self, text: str) -> str:
        """The term codes of a text in reading order (stopwords left out), for phrase matching."""
        return "".join(map(self.__getitem__, _prose(text).split()))


def _starts_number(text: str, i: int) -> bool:
    """Whether a number starts at ``text[i]``: not inside a word ("fp16") or another number,
    but after "2x" as in "2x80"."""
    if i == 0:
        return True
    before = text[i - 1]
    if before in "x\u00d7":
        return i >= 2 and text[i - 2].isdigit()
    return not (before.isalnum() or before in "_.,")


def _prose(text: str) -> str:
    """:func:`_visible` text without fenced code blocks (unless code is all there is)."""
    visible = _visible(text)
    if "```" in visible or "~~~" in visible:
        visible = _without_code(visible)
    return visible


def _without_code(visible: str) -> str:
    """Text without fenced code blocks, unless code is all there is."""
    prose = _FENCE_RE.sub(" ", visible)
    return prose if _TERM_RE.search(prose) else visible
