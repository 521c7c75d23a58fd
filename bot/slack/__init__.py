"""faq-bot on Slack: ``python -m bot [slack]``, the :class:`~bot.platform.Platform`
in :mod:`bot.slack.main`. Bolt listeners, Block Kit layouts, the Web API
calls, Socket Mode and the HTTP endpoint, the App Home review, Slack's
settings and readiness checks; everything platform-neutral (the answerer,
the store and its intake, the hand-off flow, readiness) is the core's."""
