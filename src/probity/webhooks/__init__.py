"""Outbound webhooks: tenants subscribe endpoints to events; deliveries are signed per the
Standard Webhooks specification and sent by the job system with exponential backoff.

For other domains, one function (see docs/WEBHOOKS.md):

    from probity import webhooks
    await webhooks.emit(session, tenant_id, "case.decided", {"case_id": case.id})

It queues a delivery per subscribed endpoint in the caller's transaction; the jobs go to the
workers after commit. Add a new event type to ``events.EVENT_TYPES`` (and its label to
webhooks.po).
"""

from probity.webhooks.events import EVENT_TYPES, Emitter, emit

__all__ = ["EVENT_TYPES", "Emitter", "emit"]
