"""Operations, for every platform: the HTTP endpoints ``/healthz``, ``/readyz``, ``/metrics``
(:mod:`~bot.ops.http`), the core's readiness checks (:mod:`~bot.ops.readiness`), the Prometheus
metrics (:mod:`~bot.ops.metrics`) and the container's health probe (:mod:`~bot.ops.healthcheck`)."""
