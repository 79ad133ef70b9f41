"""Read-only insights over the review store, computed, never printed.

``stats`` (every figure of ``mlsys-srs stats``) with ``weakness`` (the weakness score),
``streaks`` and ``charts`` (the figures only charts draw), all counting review days with
``day_index``; ``graph`` (the concept graph and weak concepts) and ``map_layout``;
``duplicates`` (near-duplicate cards); ``report`` (the self-contained HTML page).
"""
