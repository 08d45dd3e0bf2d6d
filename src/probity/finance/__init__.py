"""Finance cross-checks: imports (CSV/XLSX/feed), the payee-account registry, anomaly rules."""
