"""Notifications: in-app, e-mail (SMTP) and group-chat robots (WeCom, DingTalk, Feishu)."""
