"""The store: the database (:mod:`~bot.store.database`, its schema in :mod:`~bot.store.migrations`),
the durable intake (:mod:`~bot.store.intake`) and the workers that answer from it (:mod:`~bot.store.workers`)."""
