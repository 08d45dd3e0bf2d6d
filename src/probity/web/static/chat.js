// The customer's chat page (standalone, or embedded by /chat/widget.js).
import { ChatSocket, csrfHeaders, renderMessage } from "/static/chat-client.js";

const root = document.getElementById("customer-chat");
const t = {
  delivered: root.dataset.tDelivered, read: root.dataset.tRead,
  recalled: root.dataset.tRecalled, waiting: root.dataset.tWaiting, closed: root.dataset.tClosed,
  blocked: root.dataset.tBlocked, joined: root.dataset.tJoined,
  joinedNamed: root.dataset.tJoinedNamed,
  reasons: JSON.parse(root.dataset.tReasons || "{}"),
};
const errors = JSON.parse(root.dataset.tErrors || "{}");
// Problem details carry a code; the page says it in its own language.
const errorText = (data) => errors[data && data.code] || errors.default;
const KEY = "probity.chat";
let state = JSON.parse(sessionStorage.getItem(KEY) || "null");
let sock = null;
let mySeqs = [];

function headers() {
  const h = csrfHeaders({ "Content-Type": "application/json" });
  if (state && state.token) h["X-Chat-Token"] = state.token;
  return h;
}

async function start(body) {
  const r = await fetch("/api/v1/chat/conversations", {
    method: "POST", headers: csrfHeaders({ "Content-Type": "application/json" }),
    body: JSON.stringify(body), credentials: "same-origin",
  });
  const data = await r.json();
  if (!r.ok) { document.getElementById("start-error").textContent = errorText(data); return; }
  state = { id: data.conversation.id, token: data.token };
  sessionStorage.setItem(KEY, JSON.stringify(state));
  open(data.conversation, data.queue_position);
}

// "客服 李娜 已接入": the agent's name as the server gives it (the employee's name, never a
// username); the line without a name when there is none.
function joinedText(conv) {
  const name = conv.agent_name;
  return name ? t.joinedNamed.replace("{name}", () => name) : t.joined;
}

function setStatus(conv, pos) {
  const el = document.getElementById("chat-status");
  if (conv.status === "waiting") el.textContent = `${t.waiting} ${pos || ""}`;
  else if (conv.status === "closed") showClosed();
  else el.textContent = conv.agent_user_id ? joinedText(conv) : "";
}

function showClosed() {
  document.getElementById("chat-status").textContent = t.closed;
  document.getElementById("composer").hidden = true;
  document.getElementById("csat").hidden = false;
}

function open(conv, pos) {
  document.getElementById("start").hidden = true;
  document.getElementById("chat").hidden = false;
  setStatus(conv, pos);
  const list = document.getElementById("messages");
  sock = new ChatSocket({
    convId: state.id, token: state.token,
    onFrame: (f) => {
      if (f.type === "hello") {
        setStatus(f.conversation, pos);
        const reminder = document.getElementById("official-reminder");
        if (reminder && f.official_reminder) {
          reminder.textContent = f.official_reminder;
          reminder.hidden = false;
        }
      }
      if (f.type === "message") {
        renderMessage(list, f, "customer", { convId: state.id, token: state.token, t });
        if (f.sender === "customer") mySeqs.push(f.seq);
        else { sock.raw({ type: "read", seq: f.seq }); }
      }
      if (f.type === "ack" && f.message) {
        renderMessage(list, f.message, "customer", { convId: state.id, token: state.token, t });
        mySeqs.push(f.seq);
        const notice = document.getElementById("notice");
        if (f.decision === "block") { notice.textContent = f.notice; notice.hidden = false; }
        else notice.hidden = true;
      }
      if (f.type === "recalled") {
        renderMessage(list, { seq: f.seq, recalled: true, sender: "agent" }, "customer", { t });
      }
      if (f.type === "receipt" && f.by === "agent") {
        document.getElementById("chat-status").textContent =
          f.read >= Math.max(0, ...mySeqs) ? t.read : t.delivered;
      }
      if (f.type === "assigned") setStatus(f);  // a new agent, or back to the queue
      if (f.type === "closed") showClosed();
      list.scrollTop = list.scrollHeight;
    },
  });
  sock.connect();
}

async function upload(kind, file) {
  const fd = new FormData();
  fd.append("file", file); fd.append("kind", kind);
  const h = csrfHeaders();
  if (state.token) h["X-Chat-Token"] = state.token;
  const r = await fetch(`/api/v1/chat/conversations/${state.id}/attachments`,
    { method: "POST", body: fd, headers: h, credentials: "same-origin" });
  const data = await r.json();
  const notice = document.getElementById("notice");
  if (!r.ok) { notice.textContent = errorText(data); notice.hidden = false; return; }
  renderMessage(document.getElementById("messages"), data.message, "customer",
    { convId: state.id, token: state.token, t });
  if (data.decision === "block") { notice.textContent = data.notice; notice.hidden = false; }
}

document.getElementById("composer").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  if (input.value.trim() && sock) { sock.send(input.value.trim()); input.value = ""; }
});
document.getElementById("image").addEventListener("change", (e) => {
  if (e.target.files[0]) upload("image", e.target.files[0]);
});
document.getElementById("voice").addEventListener("change", (e) => {
  if (e.target.files[0]) upload("voice", e.target.files[0]);
});
document.getElementById("csat").addEventListener("submit", async (e) => {
  e.preventDefault();
  const score = Number(e.submitter.value);
  const r = await fetch(`/api/v1/chat/conversations/${state.id}/csat`,
    { method: "POST", headers: headers(), body: JSON.stringify({ score }), credentials: "same-origin" });
  if (r.ok) { document.getElementById("csat").hidden = true; document.getElementById("csat-thanks").hidden = false; }
});
const guest = document.getElementById("start-guest");
if (guest) guest.addEventListener("submit", (e) => {
  e.preventDefault();
  start({ order_no: guest.order_no.value, phone_last4: guest.phone_last4.value });
});
const signedIn = document.getElementById("start-signed-in");
if (signedIn) signedIn.addEventListener("click", () => start({}));

// A returning signed-in customer: the conversation still open resumes (the socket replays its
// history); otherwise the last one is shown above the start button.
async function resumeSignedIn() {
  const r = await fetch("/api/v1/chat/conversations", { credentials: "same-origin" });
  const startEl = document.getElementById("start");
  if (!r.ok) { startEl.hidden = false; return; }
  const convs = await r.json();
  const open_ = convs.find((c) => c.status !== "closed");
  if (open_) { state = { id: open_.id, token: null }; sessionStorage.setItem(KEY, JSON.stringify(state)); open(open_, 0); return; }
  startEl.hidden = false;
  const last = convs[0];
  if (!last) return;
  const m = await fetch(`/api/v1/chat/conversations/${last.id}/messages`, { credentials: "same-origin" });
  if (!m.ok) return;
  const hist = document.getElementById("history");
  const head = document.createElement("li"); head.className = "history-head"; head.textContent = t.history;
  hist.append(head);
  for (const msg of await m.json()) renderMessage(hist, msg, "customer", { convId: last.id, t });
  hist.hidden = false;
  document.getElementById("chat").hidden = false;
  document.getElementById("composer").hidden = true;
}

// Reload: resume the conversation held in this tab, with its history.
if (!state && root.dataset.signedIn === "1") resumeSignedIn();
else document.getElementById("start").hidden = Boolean(state);
if (state) {
  fetch(`/api/v1/chat/conversations/${state.id}`, { headers: headers(), credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((conv) => {
      if (conv) open(conv, 0);
      else { sessionStorage.removeItem(KEY); document.getElementById("start").hidden = false; }
    });
}
