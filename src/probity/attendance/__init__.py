"""Shifts and attendance: templates, weekly rotas, swaps, clock-in/out, exceptions, leave,
overtime, and who was on shift at a given moment."""
