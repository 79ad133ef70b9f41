"""Exporters: Anki packages (``anki``), with the Markdown renderer (``html``) and the
media bundler (``media``) they use. Heavy imports (genanki, Pygments) happen
inside the functions that need them.
"""
