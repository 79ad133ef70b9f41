"""``python -m mlsys_srs``."""

from .cli import main

main()
