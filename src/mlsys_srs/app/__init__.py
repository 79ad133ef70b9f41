"""The application layer: one vault session that every front end (``cli``, ``web``) drives.

``workspace.Workspace`` opens a vault (configuration, database, clock, journal, device);
the modules beside it are what a person can do with it: ``syncing`` (sync, merge the
journals, lint the notes), ``study`` (what is due, review sessions, grading, card
changes), ``exchange`` (Anki packages, review-log CSV, obsidian-spaced-repetition),
``upkeep`` (info, snapshots, rebuild, purge) and ``insight`` (stats, graph, report,
optimize). Nothing here prints or prompts: notices, questions and progress go through
the front end's ``Frontend`` callbacks, and failures are ``SrsError``s with one clear line.
"""
