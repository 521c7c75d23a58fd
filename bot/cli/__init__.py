"""The command line, on top of every other layer (the only one that may import them all):
``faq-bot`` (:mod:`bot.cli.main`, with :mod:`~bot.cli.evaluate`, :mod:`~bot.cli.release`
and :mod:`~bot.cli.review`) and ``python -m bot`` (:mod:`bot.cli.run`, :mod:`~bot.cli.launcher`)."""
