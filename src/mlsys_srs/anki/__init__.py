"""anki."""
