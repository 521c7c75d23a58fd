"""Operations: the HTTP endpoints (/healthz, /readyz, /metrics), readiness checks, metrics, the container probe."""
