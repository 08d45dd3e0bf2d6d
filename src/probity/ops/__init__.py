"""Operations: structured logs, health (liveness/readiness) and Prometheus metrics."""
