"""Chat pages: the customer's chat (standalone and embedded), the embed script, the agent
workspace; and the live alert feed page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from probity.alerts import service as alerts_service
from probity.auth.deps import OptionalPrincipal, Session, require
from probity.auth.permissions import Perm, Principal
from probity.chat.router import CANNED_REPLIES
from probity.web.render import render

router = APIRouter(include_in_schema=False)
AgentPage = Annotated[Principal, Depends(require(Perm.chat_answer))]
AlertsPage = Annotated[Principal, Depends(require(Perm.alerts_read))]

WIDGET_JS = """(function () {
  var s = document.currentScript, base = new URL(s.src).origin;
  var f = document.createElement("iframe");
  f.src = base + "/chat?embed=1"; f.title = "Customer service";
  f.style.cssText = "position:fixed;right:16px;bottom:16px;width:360px;height:520px;" +
    "border:1px solid #ccc;border-radius:8px;background:#fff;z-index:2147483000";
  document.body.appendChild(f);
})();
"""


@router.get("/chat", response_class=HTMLResponse)
async def customer_chat(request: Request, principal: OptionalPrincipal,
                        embed: int = 0) -> Response:
    signed_in = principal is not None and principal.customer_id is not None
    return render(request, "chat/customer.html", embed=bool(embed), signed_in=signed_in,
                  **chat_words(request, "customer"))


@router.get("/chat/widget.js")
async def widget() -> Response:
    """Embed with <script src="https://<probity>/chat/widget.js" async></script>."""
    return Response(WIDGET_JS, media_type="text/javascript",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/chat/workspace", response_class=HTMLResponse)
async def workspace(request: Request, session: Session, principal: AgentPage) -> Response:
    from probity.models import AgentStatus

    status = await session.get(AgentStatus, principal.user_id)
    return render(request, "chat/workspace.html", canned=CANNED_REPLIES,
                  available=bool(status and status.available),
                  **chat_words(request, "agent"))


def chat_words(request: Request, role: str) -> dict[str, Any]:
    """What the chat scripts show for stored codes (order and payment states) and why a message
    of this role was blocked, per category, in the page's language."""
    from probity.i18n import translator
    from probity.models import OrderStatus, PaymentMethod
    from probity.screening.policy import CATEGORIES
    from probity.web.labels import Labels
    from probity.web.render import locale_of

    gettext = translator(locale_of(request))
    labels = Labels(gettext)
    codes = {"order": {s.value: labels.code("order_code", s.value) for s in OrderStatus},
             "payment": {m.value: labels.code("payment_code", m.value) for m in PaymentMethod},
             "refund": {k: labels.code("refund_code", k) for k in ("refund", "compensation")},
             "category": {c: labels.code("category", c) for c in CATEGORIES}}
    reasons = {c: gettext(f"block_reason.{role}.{c}") for c in CATEGORIES
               if labels.has(f"block_reason.{role}.{c}")}
    return {"codes": codes, "reasons": reasons}


@router.get("/chat/workspace/inbox", response_class=HTMLResponse)
async def workspace_inbox(request: Request, session: Session, principal: AgentPage) -> Response:
    """The agent's conversation list (polled and refreshed on pushes by workspace.js)."""
    from probity.chat import conversations
    from probity.chat.inbox import inbox_rows

    convs = await conversations.list_conversations(session, principal, limit=60)
    convs = [c for c in convs if c.agent_user_id == principal.user_id]
    return render(request, "chat/_inbox.html", rows=await inbox_rows(session, convs))


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(request: Request, session: Session, principal: AlertsPage,
                      decision: str = "", category: str = "", source: str = "") -> Response:
    from probity.alerts.view import alert_rows, matches

    filters = {"decision": decision, "category": category, "source": source}
    alerts = [a for a in await alerts_service.list_alerts(session, principal, limit=300)
              if matches(a, filters)][:100]
    return render(request, "alerts/feed.html", rows=await alert_rows(session, principal, alerts),
                  filters=filters)


@router.get("/alerts/rows/{alert_id}", response_class=HTMLResponse)
async def alert_row(request: Request, alert_id: int, session: Session, principal: AlertsPage
                    ) -> Response:
    """One row of the feed, rendered as the page renders it (live rows look like loaded ones)."""
    from probity.alerts.view import alert_rows

    alert = await alerts_service.get_alert(session, principal, alert_id)
    return render(request, "alerts/_row.html", r=(await alert_rows(session, principal,
                                                                   [alert]))[0])
