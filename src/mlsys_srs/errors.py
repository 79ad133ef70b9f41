"""The user-facing error hierarchy.

Every expected failure is a ``SrsError`` whose message is one clear line that a
person can act on (naming the file, and the line where there is one). The CLI
prints it and exits non-zero, without a traceback.
"""

from __future__ import annotations


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
