"""The official chat channel: conversations, routing, screened messages, WebSockets."""
