// Progressive enhancement only: every page works without JavaScript.
// htmx (installed from the npm registry, served from /vendor) sends the CSRF token on its requests.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) event.detail.headers["X-CSRF-Token"] = meta.content;
});
