"""Pygments' regex lexers, with each state's rules indexed by the characters they can start with.

A Pygments ``RegexLexer`` tries the rules of its current state in order at every position, and
the first whose regex matches there wins: a line of Python tries some forty regexes per token.
A rule whose regex cannot start with the character at the position can never be that first
match, so ``fast_lexer`` gives a lexer a ``get_tokens_unprocessed`` that tries, at an ASCII
character, only the rules that can start with it (in their order), and at any other character,
or at the end, every rule. The tokens are the same as Pygments' own (tests/test_lexing.py
compares them on the code of the golden notes, both synthetic vaults and generated text), so
the highlighted HTML is too; highlighting is about four times faster.

Which characters a rule can start with is read from its regex's parse (``re._parser``) and
over-approximated wherever the reading is not exact: a rule that can match the empty string,
a back-reference, a case-insensitive class or anything unknown stays in every list. Lexers that
are not plain ``RegexLexer`` subclasses (or that override how they tokenize, other than the C
family's type names, which ``fast_lexer`` applies the same way) keep Pygments' own loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_ASCII = [chr(i) for i in range(128)]
_ALL: frozenset[str] = frozenset(_ASCII)
_WS = frozenset(" \t\n\r\f\v")


def _parser() -> Any:
    from re import _parser as parser  # type: ignore[attr-defined]

    return parser


def _category(cat: Any) -> frozenset[str]:
    """The ASCII characters that may be in a category, in any of ``re``'s modes (over-approximated)."""
    name = str(cat)
    negated = "_NOT_" in name
    if "DIGIT" in name:
        hit = frozenset("0123456789")
    elif "SPACE" in name:
        # \s: str.isspace() in Unicode mode, the six classic ones in ASCII mode; \S over-approximated.
        hit = frozenset(c for c in _ASCII if c.isspace()) if not negated else _WS
    elif "WORD" in name:
        hit = frozenset(c for c in _ASCII if c.isalnum() or c == "_")
    elif "LINEBREAK" in name:
        hit = frozenset("\n")
    else:
        raise KeyError(name)
    return _ALL - hit if negated else hit


def _in_class(items: Any, C: Any) -> frozenset[str]:
    """The ASCII characters in a character class."""
    negate, hit = False, set()
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            if av < 128:
                hit.add(chr(av))
        elif op is C.RANGE:
            hit.update(map(chr, range(av[0], min(av[1], 127) + 1)))
        elif op is C.CATEGORY:
            hit |= _category(av)
        else:
            raise KeyError(op)
    return _ALL - hit if negate else frozenset(hit)


def _first(seq: Any, flags: int, C: Any) -> tuple[frozenset[str], bool]:
    """The ASCII characters a match of the sequence can start with, and whether it can be empty."""
    out: set[str] = set()
    for op, av in seq:
        chars, empty = _item(op, av, flags, C)
        out |= chars
        if chars is _ALL:
            return _ALL, True
        if not empty:
            return frozenset(out), False
    return frozenset(out), True


def _item(op: Any, av: Any, flags: int, C: Any) -> tuple[frozenset[str], bool]:
    folded = bool(flags & re.IGNORECASE)
    if op is C.LITERAL:
        ch = chr(av)
        if not ch.isascii():
            return (_ALL, False) if folded else (frozenset(), False)
        return (
            frozenset(x for x in (ch, ch.lower(), ch.upper()) if x.isascii()) if folded else frozenset(ch)
        ), False
    if op is C.NOT_LITERAL:
        return (_ALL if folded else frozenset(c for c in _ASCII if ord(c) != av)), False
    if op is C.ANY:
        return (_ALL if flags & re.DOTALL else frozenset(c for c in _ASCII if c != "\n")), False
    if op is C.IN:
        return (_ALL if folded else _in_class(av, C)), False
    if op is C.BRANCH:
        out: set[str] = set()
        empty = False
        for alt in av[1]:
            chars, e = _first(alt, flags, C)
            if chars is _ALL:
                return _ALL, True
            out |= chars
            empty = empty or e
        return frozenset(out), empty
    if op is C.SUBPATTERN:
        _, add, drop, sub = av
        return _first(sub, (flags | add) & ~drop, C)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        low, _, sub = av
        chars, empty = _first(sub, flags, C)
        return chars, empty or low == 0
    if op is C.ATOMIC_GROUP:
        return _first(av, flags, C)
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return frozenset(), True  # zero-width: the next item starts the match
    return _ALL, True  # a back-reference, a conditional, anything else


def _starts(rexmatch: Any) -> frozenset[str]:
    """The ASCII characters a rule's regex can start a match with (``_ALL``: any position)."""
    pattern = getattr(rexmatch, "__self__", None)
    if not isinstance(pattern, re.Pattern) or not isinstance(pattern.pattern, str):
        return _ALL
    if pattern.flags & re.LOCALE:
        return _ALL
    try:
        parser = _parser()
        from re import _constants as C  # type: ignore[attr-defined]

        chars, empty = _first(parser.parse(pattern.pattern, pattern.flags), pattern.flags, C)
    except Exception:  # a form this reading does not know: the rule is tried everywhere
        return _ALL
    return _ALL if empty else chars


class _States(dict[str, tuple[dict[str, tuple[Any, ...]], tuple[Any, ...]]]):
    """Each state's rules by first character (ASCII) and all of them, made when first entered."""

    def __init__(self, tokendefs: dict[str, Any]) -> None:
        super().__init__()
        self.tokendefs = tokendefs

    def __missing__(self, state: str) -> tuple[dict[str, tuple[Any, ...]], tuple[Any, ...]]:
        rules = tuple(self.tokendefs[state])
        starts = [_starts(rule[0]) for rule in rules]
        by_char = {c: tuple(r for r, s in zip(rules, starts, strict=True) if c in s) for c in _ASCII}
        self[state] = (by_char, rules)
        return self[state]


def _tokens(lexer: Any, states: _States, text: str, stack: tuple[str, ...] = ("root",)) -> Iterator[Any]:
    """``RegexLexer.get_tokens_unprocessed``, trying only the rules that can match at each position."""
    from pygments.token import Error, Whitespace, _TokenType

    pos = 0
    statestack = list(stack)
    by_char, every = states[statestack[-1]]
    while True:
        for rexmatch, action, new_state in by_char.get(text[pos : pos + 1], every):
            m = rexmatch(text, pos)
            if m:
                if action is not None:
                    if type(action) is _TokenType:
                        yield pos, action, m.group()
                    else:
                        yield from action(lexer, m)
                pos = m.end()
                if new_state is not None:
                    if isinstance(new_state, tuple):
                        for state in new_state:
                            if state == "#pop":
                                if len(statestack) > 1:
                                    statestack.pop()
                            elif state == "#push":
                                statestack.append(statestack[-1])
                            else:
                                statestack.append(state)
                    elif isinstance(new_state, int):
                        if abs(new_state) >= len(statestack):
                            del statestack[1:]
                        else:
                            del statestack[new_state:]
                    elif new_state == "#push":
                        statestack.append(statestack[-1])
                    else:
                        raise AssertionError(f"wrong state def: {new_state!r}")
                    by_char, every = states[statestack[-1]]
                break
        else:
            if pos >= len(text):
                break
            if text[pos] == "\n":
                statestack = ["root"]
                by_char, every = states["root"]
                yield pos, Whitespace, "\n"
                pos += 1
                continue
            yield pos, Error, text[pos]
            pos += 1


def _c_family(lexer: Any, states: _States) -> Any:
    """``CFamilyLexer.get_tokens_unprocessed`` over ``_tokens``: its standard type names as types."""
    from pygments.token import Keyword, Name

    def tokens(text: str, stack: tuple[str, ...] = ("root",)) -> Iterator[Any]:
        for index, token, value in _tokens(lexer, states, text, stack):
            if token is Name and (
                (lexer.stdlibhighlighting and value in lexer.stdlib_types)
                or (lexer.c99highlighting and value in lexer.c99_types)
                or (lexer.c11highlighting and value in lexer.c11_atomic_types)
                or (lexer.platformhighlighting and value in lexer.linux_types)
            ):
                token = Keyword.Type
            yield index, token, value

    return tokens


def fast_lexer(lexer: Any) -> Any:
    """``lexer`` (a Pygments lexer made for this process's highlighting) tokenizing through the
    first-character index, when it is a ``RegexLexer`` whose tokenizing that covers; else as it is."""
    from pygments.lexer import RegexLexer
    from pygments.lexers.c_cpp import CFamilyLexer

    method = type(lexer).get_tokens_unprocessed
    states = _States(lexer._tokens) if isinstance(lexer, RegexLexer) else None
    if states is None:
        return lexer
    if method is RegexLexer.get_tokens_unprocessed:
        lexer.get_tokens_unprocessed = lambda text, stack=("root",): _tokens(lexer, states, text, stack)
    elif method is CFamilyLexer.get_tokens_unprocessed:
        lexer.get_tokens_unprocessed = _c_family(lexer, states)
    return lexer
