"""faq-bot's service on top of the faq_core library, in layers (docs/design.md):

- the service core, platform-neutral: :mod:`bot.store` (the database, the
  durable intake, the workers), :mod:`bot.serving` (the served engine,
  reloading, replicas), :mod:`bot.conversation` (question to reply),
  :mod:`bot.ops` (health, readiness, metrics), :mod:`bot.features`
  (recording, votes, hand-off, digest, review), and :mod:`bot.platform`
  (the :class:`~bot.platform.Platform` interface and the start-up skeleton),
  with :mod:`bot.settings`, :mod:`bot.errors` and :mod:`bot.messages` beneath;
- the platforms, one package each, implementing that interface:
  :mod:`bot.slack`, :mod:`bot.discord`;
- the command line on top: :mod:`bot.cli` (``faq-bot``, ``python -m bot``).
"""
