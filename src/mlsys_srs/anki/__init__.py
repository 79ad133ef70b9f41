"""Anki: our cards out as an ``.apkg`` package, and Anki collections in, with their review history.

Export and import share the names our cards have in Anki (``ids``: note GUIDs, deck
ids, the block id of a moved-in note) and the note types (``notetypes``).

- ``export``: the build (full or incremental, spread over the cores); ``building``
  (cards -> notes), ``labels`` (deck names, tags, Source), ``positions`` (new cards
  in learning order), ``progress`` (card columns), ``revlog`` (review logs, both
  ways), ``cache_plan`` (what to build again), ``package`` (the zip).
- ``importing``: ``import anki``; ``fields`` turns Anki's field HTML into Markdown;
  ``origins`` keeps the moved-in notes' note types in the vault and builds them back;
  ``safe_names`` (deck and media names made safe for the vault).
- ``collection``: every SQL statement on Anki's schema, reading and writing;
  ``archive`` (a package's bytes, within ``ImportLimits``), ``schema_checks`` (every
  row checked before it is used), ``notetype_json`` (a note type's protobuf rows as
  Anki's legacy JSON).
"""
