// The alert feed: new alerts in the viewer's scope arrive over a WebSocket, no reload. Each new
// row is fetched from the server (/alerts/rows/N), so live rows read exactly like loaded ones:
// names, labels, links, one time format in the tenant's zone.
const table = document.getElementById("alerts");
const body = table.querySelector("tbody");
const stateEl = document.getElementById("feed-state");
const filters = JSON.parse(table.dataset.filters || "{}");

function setState(ready) {
  stateEl.dataset.ready = ready ? "1" : "0";
  stateEl.textContent = ready ? stateEl.dataset.tLive : stateEl.dataset.tDown;
  stateEl.classList.toggle("live", ready);
}

async function addRow(alert) {
  if (body.querySelector(`tr[data-id="${alert.id}"]`)) return;
  if (Object.entries(filters).some(([k, v]) => v && alert[k] !== undefined && alert[k] !== v)) return;
  const r = await fetch(`/alerts/rows/${alert.id}`, { credentials: "same-origin" });
  if (!r.ok) return;
  const tpl = document.createElement("tbody");
  tpl.innerHTML = (await r.text()).trim();
  const tr = tpl.querySelector("tr");
  if (!tr || body.querySelector(`tr[data-id="${alert.id}"]`)) return;
  tr.classList.add("new");
  body.prepend(tr);
  document.getElementById("alerts-empty")?.remove();
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws/alerts`);
  ws.onmessage = (ev) => {
    const f = JSON.parse(ev.data);
    if (f.type === "ready") setState(true);
    if (f.type === "alert") addRow(f.alert);
  };
  ws.onclose = () => { setState(false); setTimeout(connect, 2000); };
}
connect();
