"""Serving the FAQ engine: the holder every part shares (:mod:`~bot.serving.holder`), the reloader
of new revisions (:mod:`~bot.serving.reload`, started by :mod:`~bot.serving.reloading`), the
replicas' table (:mod:`~bot.serving.replicas`) and the Hub webhook (:mod:`~bot.serving.hub_webhook`)."""
