"""Adaptive monitoring: time-boxed rules acted on from findings (tighter screening, QA sampling,
alerts to HR on duty), their effect, and the QA review queue worked by team leads."""
