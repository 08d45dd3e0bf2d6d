// Probity's service worker (self-service PWA). Served as a static file at /sw.js.
//
// What it keeps: the offline page and the app shell (styles, scripts, icons) — never a page or
// an API answer, because those hold one person's data and a phone may be shared. Pages and the
// API always go to the network; a page that cannot be reached shows /offline instead.
const VERSION = "probity-shell-v1";
const OFFLINE = "/offline";
const SHELL = [
  OFFLINE,
  "/static/app.css",
  "/static/app.js",
  "/static/selfservice/me.css",
  "/static/selfservice/pwa.js",
  "/static/favicon.svg",
  "/static/selfservice/icon-192.png",
  "/vendor/bootstrap.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(VERSION)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  return url.origin === self.location.origin
    && (url.pathname.startsWith("/static/") || url.pathname.startsWith("/vendor/"));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    // Always the network (fresh, personal, never stored); the offline page when it fails.
    event.respondWith(fetch(request).catch(() => caches.match(OFFLINE)));
    return;
  }
  if (isShell(url)) {
    // The network first (a new release is seen at once), the stored copy when offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok && SHELL.includes(url.pathname)) {
            const copy = response.clone();
            caches.open(VERSION).then((cache) => cache.put(request, copy));
          }
          return response;
        })
        .catch(() => caches.match(request).then((hit) => hit || Response.error())),
    );
  }
});
