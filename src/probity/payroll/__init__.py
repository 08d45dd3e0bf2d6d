"""Payroll. Today: the individual income tax by the cumulative withholding method (`tax`)."""
