"""Onboarding: checklists per position, the integrity pledge (廉洁承诺书), probation reminders."""
