// The agent workspace: own conversations (waiting/active/closed), the chat, the customer panel.
import { ChatSocket, csrfHeaders, renderMessage } from "/static/chat-client.js";

const root = document.getElementById("workspace");
const t = { recall: root.dataset.tRecall, recalled: root.dataset.tRecalled,
            delivered: root.dataset.tDelivered, read: root.dataset.tRead };
const api = (path, opts = {}) => fetch(path, {
  credentials: "same-origin", ...opts,
  headers: csrfHeaders({ "Content-Type": "application/json", ...(opts.headers || {}) }),
});
let current = null;
let sock = null;

async function loadList() {
  const rows = await (await api("/api/v1/chat/conversations")).json();
  for (const status of ["active", "waiting", "closed"]) {
    const ul = document.getElementById(`list-${status}`);
    ul.replaceChildren();
    for (const c of rows.filter((r) => r.status === status)) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button"; b.className = "link"; b.dataset.testid = "conversation";
      b.textContent = `#${c.id}`;
      b.onclick = () => openConv(c);
      li.append(b);
      ul.append(li);
    }
  }
  return rows;
}

function list() { return document.getElementById("messages"); }

async function recall(seq) { if (sock) sock.raw({ type: "recall", seq }); }

async function openConv(c) {
  if (sock) sock.close();
  current = c;
  document.getElementById("chat").hidden = false;
  document.getElementById("side").hidden = false;
  document.getElementById("chat-status").textContent = `#${c.id} · ${c.status}`;
  document.getElementById("composer").hidden = c.status === "closed";
  list().replaceChildren();
  const opts = { convId: c.id, t, onRecall: recall };
  sock = new ChatSocket({
    convId: c.id,
    onFrame: (f) => {
      if (f.type === "message") {
        renderMessage(list(), f, "agent", opts);
        if (f.sender === "customer") sock.raw({ type: "read", seq: f.seq });
        if (f.reminder) showReminder(f.reminder);
      }
      if (f.type === "ack") {
        if (f.message) renderMessage(list(), f.message, "agent", opts);
        const notice = document.getElementById("notice");
        if (f.decision === "block") { notice.textContent = f.notice; notice.hidden = false; }
        else notice.hidden = true;
        if (f.reminder) showReminder(f.reminder);
      }
      if (f.type === "recalled") {
        const li = list().querySelector(`li[data-seq="${f.seq}"]`);
        if (li) { li.classList.add("recalled"); const b = li.querySelector(".recall"); if (b) b.remove(); }
      }
      if (f.type === "receipt" && f.by === "customer") {
        document.getElementById("chat-status").textContent =
          `#${c.id} · ${t.delivered} ${f.delivered} · ${t.read} ${f.read}`;
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
    for (const r of rows) { const li = document.createElement("li"); li.textContent = fmt(r); ul.append(li); }
  };
  fill("orders", panel.orders, (o) => `${o.order_no} ${o.item} ¥${o.amount} ${o.status}`);
  fill("payments", panel.payments, (p) => `${p.payment_no} ¥${p.amount} ${p.method}`);
  fill("refunds", panel.refunds, (r) => `${r.refund_no} ¥${r.amount} ${r.reason}`);
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
  await api("/api/v1/chat/agent/availability",
    { method: "PUT", body: JSON.stringify({ available: e.target.checked }) });
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
