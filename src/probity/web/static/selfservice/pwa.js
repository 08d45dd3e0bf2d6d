// Registers the service worker (/sw.js) that makes the self-service pages an installable app
// with an offline page. A file of its own: the Content-Security-Policy refuses inline script.
if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).then((reg) => {
      document.documentElement.dataset.sw = reg.active ? "active" : "registered";
    }).catch(() => {
      document.documentElement.dataset.sw = "failed";
    });
  });
}
