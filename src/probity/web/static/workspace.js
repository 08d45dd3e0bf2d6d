// The agent workspace: own conversations (active/waiting/closed), the chat, the customer panel.
// The list is rendered by the server (/chat/workspace/inbox: names, last message, waiting time,
// unread count, in the tenant's zone) and refreshed on pushes and every 15 s.
import { ChatSocket, csrfHeaders, renderMessage } from "/static/chat-client.js";

const root = document.getElementById("workspace");
const json = (v) => JSON.parse(v || "{}");
const t = { recall: root.dataset.tRecall, recalled: root.dataset.tRecalled,
            delivered: root.dataset.tDelivered, read: root.dataset.tRead,
            blocked: root.dataset.tBlocked, attempt: root.dataset.tAttempt,
            reasons: json(root.dataset.tReasons) };
const statusWords = json(root.dataset.tStatus);
const codes = json(root.dataset.tCodes);
const word = (kind, v) => (codes[kind] && codes[kind][v]) || v;
const api = (path, opts = {}) => fetch(path, {
  credentials: "same-origin", ...opts,
  headers: csrfHeaders({ "Content-Type": "application/json", ...(opts.headers || {}) }),
});
let current = null;
let sock = null;

async function loadList() {
  const r = await fetch("/chat/workspace/inbox", { credentials: "same-origin" });
  if (!r.ok) return;
  const inbox = document.getElementById("inbox");
  inbox.innerHTML = await r.text();
  for (const b of inbox.querySelectorAll("[data-testid=conversation]")) {
    if (current && Number(b.dataset.id) === current.id) b.setAttribute("aria-current", "true");
    b.addEventListener("click", () => openConv({ id: Number(b.dataset.id), status: b.dataset.status,
                                                  customer: b.dataset.customer,
                                                  attempts: Number(b.dataset.attempts) }));
  }
}

function list() { return document.getElementById("messages"); }

async function recall(seq) { if (sock) sock.raw({ type: "recall", seq }); }

function setStatus(text) { document.getElementById("chat-status").textContent = text; }

function showAttempt() {
  const el = document.getElementById("attempt");
  el.textContent = t.attempt; el.hidden = false;
}

async function openConv(c) {
  if (sock) sock.close();
  current = c;
  for (const b of document.querySelectorAll("[data-testid=conversation]")) {
    b.toggleAttribute("aria-current", Number(b.dataset.id) === c.id);
  }
  document.getElementById("chat").hidden = false;
  document.getElementById("side").hidden = false;
  document.getElementById("attempt").hidden = true;
  if (c.attempts) showAttempt();
  document.getElementById("notice").hidden = true;
  document.getElementById("chat-title").textContent = c.customer || `#${c.id}`;
  setStatus(`#${c.id} · ${statusWords[c.status] || c.status}`);
  document.getElementById("composer").hidden = c.status === "closed";
  list().replaceChildren();
  const opts = { convId: c.id, t, onRecall: recall };
  sock = new ChatSocket({
    convId: c.id,
    onFrame: (f) => {
      if (f.type === "message") {
        renderMessage(list(), f, "agent", opts);
        if (f.attempt) showAttempt();
        if (f.sender === "customer" && !f.blocked) sock.raw({ type: "read", seq: f.seq });
        if (f.reminder) showReminder(f.reminder);
      }
      if (f.type === "ack") {
        if (f.message) renderMessage(list(), f.message, "agent", opts);
        const notice = document.getElementById("notice");
        if (f.decision === "block") {
          // An agent gets the internal compliance warning for the category, not the notice
          // written for customers.
          const cat = ((f.message && f.message.categories) || []).find((x) => t.reasons[x]);
          notice.textContent = (cat && t.reasons[cat]) || f.notice; notice.hidden = false;
        } else notice.hidden = true;
        if (f.reminder) showReminder(f.reminder);
      }
      if (f.type === "customer_attempt") showAttempt();
      if (f.type === "recalled") {
        const li = list().querySelector(`li[data-seq="${f.seq}"]`);
        if (li) { li.classList.add("recalled"); const b = li.querySelector(".recall"); if (b) b.remove(); }
      }
      if (f.type === "receipt" && f.by === "customer") {
        setStatus(`#${c.id} · ${statusWords[c.status] || c.status} · ${t.delivered} ${f.delivered} · ${t.read} ${f.read}`);
      }
      if (f.type === "closed") { document.getElementById("composer").hidden = true; loadList(); }
      list().scrollTop = list().scrollHeight;
    },
  });
  sock.connect();
  const panel = await (await api(`/api/v1/chat/conversations/${c.id}/customer`)).json();
  document.getElementById("cust").textContent =
    `${panel.customer.name} · ${panel.customer.customer_no} · ${panel.customer.phone || ""}`;
  const fill = (id, rows, fmt) => {
    const ul = document.getElementById(id); ul.replaceChildren();
    for (const r of rows) {
      const li = document.createElement("li"); li.translate = false; li.textContent = fmt(r); ul.append(li);
    }
  };
  fill("orders", panel.orders, (o) => `${o.order_no} ${o.item} ¥${o.amount} · ${word("order", o.status)}`);
  fill("payments", panel.payments, (p) => `${p.payment_no} ¥${p.amount} · ${word("payment", p.method)}`);
  fill("refunds", panel.refunds, (r) => `${r.refund_no} ¥${r.amount} · ${r.reason}`);
  loadList();
}

function showReminder(text) {
  const el = document.getElementById("reminder");
  el.textContent = text; el.hidden = false;
}

document.getElementById("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  if (input.value.trim() && sock) { sock.send(input.value.trim()); input.value = ""; }
});
document.getElementById("close").addEventListener("click", async () => {
  if (!current) return;
  await api(`/api/v1/chat/conversations/${current.id}/close`, { method: "POST" });
  document.getElementById("composer").hidden = true;
  loadList();
});
for (const b of document.querySelectorAll(".canned-reply")) {
  b.addEventListener("click", () => { document.getElementById("text").value = b.textContent; });
}
document.getElementById("available").addEventListener("change", async (e) => {
  const r = await api("/api/v1/chat/agent/availability",
    { method: "PUT", body: JSON.stringify({ available: e.target.checked }) });
  const refusal = document.getElementById("availability-error");
  if (!r.ok) {  // e.g. the training gate: the mandatory course comes before the first chat
    e.target.checked = false;
    const problem = await r.json().catch(() => ({}));
    refusal.querySelector("span").textContent = problem.detail || r.statusText;
  }
  refusal.hidden = r.ok;  // shown only once it says why, never as a bare link
  loadList();
});

// New assignments arrive live; the list also refreshes every 15 s as a fallback.
function inbox() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws/agent`);
  ws.onmessage = (ev) => { if (JSON.parse(ev.data).type === "assigned") loadList(); };
  ws.onclose = () => setTimeout(inbox, 2000);
}
inbox();
setInterval(loadList, 15000);
loadList();
