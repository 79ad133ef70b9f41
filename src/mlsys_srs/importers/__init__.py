"""Bringing history and notes in from other tools: Anki collections and obsidian-spaced-repetition vaults."""
