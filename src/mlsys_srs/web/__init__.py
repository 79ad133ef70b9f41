"""The web review (``mlsys-srs serve``): the daily review as a page for a phone or a browser.

A front end beside ``cli``: it calls the application layer (``app``) so the page and the
terminal share the queue, the grading, the journal, the locks and the backups.
``hub`` holds the database side (one thread, a review session per open page); ``card_html``
renders cards; ``routes`` is the HTTP face; ``guard`` decides who may use it; ``server`` runs
uvicorn; ``qr`` draws the address for a phone; ``static/`` is the page (HTML, CSS, JavaScript,
the service worker, the manifest), all served by the tool: nothing comes from the internet.
Needs the optional packages of ``pip install 'mlsys-srs[web]'``.
"""
