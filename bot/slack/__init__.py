"""The Slack half of the bot: Bolt listeners, Block Kit layouts, the Web API
calls, Socket Mode and the HTTP endpoint. Everything platform-neutral (the
answerer, batching, the store and its intake, readiness) lives in ``bot``."""
