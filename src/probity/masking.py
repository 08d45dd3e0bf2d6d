"""Masking of personal data for roles that do not need it."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str | None:
    """Keep the first three and last four digits: 138****5678."""
    if not phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 7:
        return "*" * len(digits)
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, _, domain = email.partition("@")
    return (local[:1] + "***@" + domain) if local else "***@" + domain


def mask_name(name: str | None) -> str | None:
    """张三丰 → 张**; Alice Smith → A****."""
    if not name:
        return name
    return name[0] + "*" * min(len(name) - 1, 4) if len(name) > 1 else "*"
