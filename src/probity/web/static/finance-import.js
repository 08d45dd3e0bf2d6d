// Preview without reloading the page, so the chosen file stays chosen for the import.
const form = document.getElementById("import-form");
form.addEventListener("submit", async (e) => {
  if (!e.submitter || e.submitter.value !== "preview") return;
  e.preventDefault();
  const fd = new FormData(form); fd.set("action", "preview");
  const r = await fetch(form.action, { method: "POST", body: fd, credentials: "same-origin" });
  const doc = new DOMParser().parseFromString(await r.text(), "text/html");
  const fresh = doc.getElementById("import-result");
  const err = doc.querySelector("[data-testid=import-error]");
  document.querySelector("[data-testid=import-error]")?.remove();
  if (err) form.before(err);
  if (fresh) document.getElementById("import-result").replaceWith(fresh);
});
