// The alert feed: new alerts in the viewer's scope arrive over a WebSocket, no reload.
const body = document.querySelector("#alerts tbody");
const stateEl = document.getElementById("feed-state");

function row(a) {
  const tr = document.createElement("tr");
  tr.dataset.testid = "alert-row"; tr.dataset.id = a.id; tr.className = `sev-${a.severity} new`;
  const when = new Date(a.created_at).toLocaleString();
  const who = a.sender_role + (a.sender_user_id ? ` #${a.sender_user_id}` : "");
  for (const v of [when, a.decision, a.category, a.severity, who, `#${a.conversation_id}`, a.snippet]) {
    const td = document.createElement("td"); td.textContent = String(v); tr.append(td);
  }
  return tr;
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws/alerts`);
  ws.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.type === "ready") { stateEl.textContent = "●"; stateEl.dataset.ready = "1"; }
    if (f.type === "alert" && !body.querySelector(`tr[data-id="${f.alert.id}"]`)) {
      body.prepend(row(f.alert));
    }
  };
  ws.onclose = () => { stateEl.textContent = "○"; stateEl.dataset.ready = "0"; setTimeout(connect, 2000); };
}
connect();
