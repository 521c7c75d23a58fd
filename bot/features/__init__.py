"""What the bot does beyond answering, on any platform: recording questions (:mod:`~bot.features.recording`),
votes (:mod:`~bot.features.voting`), the hand-off flow (:mod:`~bot.features.handoff`), the digest
(:mod:`~bot.features.digest`), the review loop (:mod:`~bot.features.review`) and the store's clean-up
(:mod:`~bot.features.upkeep`)."""
