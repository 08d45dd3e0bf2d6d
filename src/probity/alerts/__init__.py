"""Screening alerts: created with the message that raised them, live feed + API."""
