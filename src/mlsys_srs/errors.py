"""The user-facing error hierarchy.

Every expected failure is a ``SrsError`` whose message is one clear line that a
person can act on (naming the file, and the line where there is one). The CLI
prints it and exits non-zero, without a traceback.
"""

from __future__ import annotations

HOW_TO_START = (
    "start with `mlsys-srs init FOLDER` (a vault with the starter notes), or point --vault "
    "(or MLSYS_SRS_VAULT) at your notes folder"
)
"""What every command says when there is no vault to work on."""


class SrsError(Exception):
    """An expected failure, explained for the user."""

    exit_code = 1


class VaultError(SrsError):
    """The vault folder is missing or unreadable."""


class DatabaseError(SrsError):
    """The review database cannot be opened, is locked, or is not ours."""


class ConfigError(SrsError):
    """The configuration file is invalid."""


class CardNotFound(SrsError):
    """A card id named on the command line does not exist."""


class DeckError(SrsError):
    """A deck recipe is missing or invalid."""


class UsageError(SrsError):
    """An option or argument has a value the command cannot use (exit code 2, as a usage error)."""

    exit_code = 2


def one_of(value: str, choices: tuple[str, ...] | list[str]) -> str:
    """ "must be one of a, b, c", with "did you mean x?" when ``value`` is close to a choice."""
    import difflib

    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"must be one of {', '.join(choices)}{hint}"
