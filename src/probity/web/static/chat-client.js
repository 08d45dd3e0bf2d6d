// The chat WebSocket client shared by the customer page and the agent workspace.
import { timeElement } from "/static/app.js";
// Resume: the highest seq held is kept (per conversation) and sent as ?after= on reconnect.
// Outbox: unacknowledged sends are retried with the same client_id (the server dedupes).

export function csrfHeaders(extra = {}) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? { "X-CSRF-Token": meta.content, ...extra } : extra;
}

function uid() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Date.now().toString(36) + Math.random().toString(36).slice(2);
}

export class ChatSocket {
  constructor({ convId, token = null, onFrame }) {
    this.convId = convId;
    this.token = token;
    this.onFrame = onFrame;
    this.lastSeq = 0;
    this.outbox = new Map();
    this.backoff = 250;
    this.closedByUs = false;
    this.synced = false;
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let u = `${proto}//${location.host}/ws/chat/${this.convId}?after=${this.lastSeq}`;
    if (this.token) u += `&token=${encodeURIComponent(this.token)}`;
    return u;
  }

  connect() {
    this.synced = false;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onmessage = (ev) => {
      const f = JSON.parse(ev.data);
      if (f.type === "synced") {
        this.synced = true;
        this.backoff = 250;
        for (const frame of this.outbox.values()) ws.send(JSON.stringify(frame));
      }
      if (f.type === "ack") this.outbox.delete(f.client_id);
      if (typeof f.seq === "number" && (f.type === "message" || f.type === "ack")) {
        this.lastSeq = Math.max(this.lastSeq, f.seq);
      }
      if (f.type === "resync") { ws.close(); return; }
      if (f.type === "error" && f.code === "retry" && this.outbox.has(f.client_id)) {
        const frame = this.outbox.get(f.client_id);
        setTimeout(() => this.raw(frame), 300);
        return;
      }
      this.onFrame(f);
    };
    ws.onclose = () => {
      if (this.closedByUs) return;
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
  }

  raw(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.synced) {
      this.ws.send(JSON.stringify(frame));
    }
  }

  send(text) {
    const frame = { type: "send", client_id: uid(), text };
    this.outbox.set(frame.client_id, frame);
    this.raw(frame);
  }

  close() { this.closedByUs = true; if (this.ws) this.ws.close(); }
}

export function attachmentUrl(convId, sha, token) {
  let u = `/api/v1/chat/conversations/${convId}/attachments/${sha}`;
  if (token) u += `?token=${encodeURIComponent(token)}`;
  return u;
}

// Render one message view into the list (idempotent by seq).
export function renderMessage(list, m, me, { convId, token, t, onRecall }) {
  let li = list.querySelector(`li[data-seq="${m.seq}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.seq = m.seq;
    const after = [...list.children].find((x) => Number(x.dataset.seq) > m.seq);
    list.insertBefore(li, after || null);
  }
  li.className = `msg ${m.sender === me ? "mine" : "theirs"}`;
  li.dataset.testid = "message";
  li.replaceChildren();
  const stamp = () => {
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.append(timeElement(m.created_at));
    li.append(meta);
  };
  if (m.blocked && m.attempt) {  // the other side tried something off-platform: no text
    li.className = "msg attempt";
    li.dataset.testid = "attempt";
    li.textContent = t.attempt || "";
    stamp();
    return li;
  }
  if (m.blocked) {
    // The sender keeps their own text, marked as not sent, with the reason for its category.
    li.classList.add("blocked");
    if (m.body) {
      const body = document.createElement("span");
      body.className = "body"; body.textContent = m.body; body.translate = false;
      li.append(body);
    }
    const why = document.createElement("span");
    why.className = "why"; why.dataset.testid = "blocked-reason";
    const cat = (m.categories || []).find((c) => t.reasons && t.reasons[c]);
    const reason = (cat && t.reasons[cat]) || m.notice || "";
    why.textContent = [t.blocked, reason].filter(Boolean).join(document.documentElement.lang === "en" ? ": " : "：");
    li.append(why);
    stamp();
    return li;
  }
  if (m.recalled) {
    li.classList.add("recalled");
    li.textContent = t.recalled;
    return li;
  }
  if (m.kind === "image" && m.attachment) {
    const img = document.createElement("img");
    img.src = attachmentUrl(convId, m.attachment, token);
    img.alt = m.body || "image";
    li.append(img);
  } else if (m.kind === "voice" && m.attachment) {
    const audio = document.createElement("audio");
    audio.controls = true;
    audio.src = attachmentUrl(convId, m.attachment, token);
    li.append(audio);
  }
  if (m.body) {
    const span = document.createElement("span");
    span.className = "body";
    span.translate = false;  // people's words, not interface text
    span.textContent = m.body;
    li.append(span);
  }
  if (m.decision === "warn") li.classList.add("warn");
  stamp();
  if (m.recalled_at) {
    li.classList.add("recalled");
    const s = document.createElement("small");
    s.textContent = ` (${t.recalled})`;
    li.append(s);
  } else if (onRecall && m.sender === me && Date.now() - Date.parse(m.created_at) < 120000) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "link recall"; b.textContent = t.recall;
    b.onclick = () => onRecall(m.seq);
    li.append(b);
  }
  return li;
}
