// Progressive enhancement only: every page works without JavaScript.
// One time format in the tenant's zone for rows rendered here, matching the server's
// `local_time` filter ("YYYY-MM-DD HH:MM"): import { formatTime } from "/static/app.js".
const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";

export function formatTime(value) {
  if (!value) return "";
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return "";
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-CA", {
    timeZone: meta("probity-tz") || undefined, year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  }).formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

// A <time> element for a JS-rendered row: same format and zone as the server's.
export function timeElement(value) {
  const t = document.createElement("time");
  if (value) t.dateTime = new Date(value).toISOString();
  t.textContent = formatTime(value);
  return t;
}

// Every table in <main>: the label of its column on each cell (phones show rows as cards), and
// a box of its own that scrolls sideways, focusable so it can be scrolled from the keyboard.
export function enhanceTables(root = document) {
  for (const table of root.querySelectorAll("main table")) {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (heads[i] && !cell.hasAttribute("data-label") && !cell.hasAttribute("colspan")) {
          cell.dataset.label = heads[i];
        }
      });
    }
    if (!table.classList.contains("table")) table.classList.add("table", "table-hover", "align-middle");
    const parent = table.parentElement;
    let wrap = parent && (parent.classList.contains("table-wrap") || parent.classList.contains("table-responsive"))
      ? parent : null;
    if (!wrap) {
      wrap = document.createElement("div");
      wrap.className = "table-wrap";
      table.replaceWith(wrap);
      wrap.append(table);
    }
    if (!wrap.hasAttribute("tabindex")) {
      wrap.tabIndex = 0;
      wrap.setAttribute("role", "region");
      const label = table.getAttribute("aria-label") || table.querySelector("caption")?.textContent
        || document.querySelector("main h1")?.textContent || "";
      wrap.setAttribute("aria-label", label.trim());
    }
  }
}

document.addEventListener("htmx:configRequest", (event) => {
  const csrf = meta("csrf-token");
  if (csrf) event.detail.headers["X-CSRF-Token"] = csrf;
});
document.addEventListener("htmx:afterSwap", (event) => enhanceTables(event.target));
enhanceTables();
// Rows added to a table body later (live feeds) get their labels too.
new MutationObserver((records) => {
  if (records.some((r) => [...r.addedNodes].some((n) => n.nodeName === "TR"))) enhanceTables();
}).observe(document.querySelector("main") || document.body, { childList: true, subtree: true });

// Buttons and links that need a second thought: data-confirm="question".
document.addEventListener("click", (event) => {
  const el = event.target.closest("[data-confirm]");
  if (el && !window.confirm(el.dataset.confirm)) { event.preventDefault(); event.stopImmediatePropagation(); }
}, true);

// A <select data-autosubmit> submits its form on change (no inline handlers: the CSP refuses them).
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
    el.form.requestSubmit();
  }
});
