// Crewlog service worker: the app shell and the blank encounter form work with no signal.
// Served at /sw.js by app/pwa, which writes this deploy's version and shell list below.
// Never cached: API responses, and any page but the blank form (pages may show a person's data).
const BUILD = {"version": "dev", "shell": [], "pages": []};
const SHELL = `crewlog-${BUILD.version}-shell`;
const PAGES = `crewlog-${BUILD.version}-pages`;
const OFFLINE = "/offline";

self.addEventListener("install", (event) => {
  const routed = route(event); // while the event is dispatched, as addRoutes requires
  event.waitUntil((async () => {
    await (await shellCache()).addAll(BUILD.shell);
    await routed;
    await self.skipWaiting();
  })());
});

// Where the browser has static routing (Chromium), it reads static files from the shell cache
// itself, without a round trip through this worker per file; a file missing there comes from the
// network. Elsewhere the fetch handler below does the same.
async function route(event) {
  try {
    await event.addRoutes?.({ condition: { urlPattern: "/static/*" }, source: { cacheName: SHELL } });
  } catch { /* no routing: the fetch handler answers */ }
}

// The shell cache, opened once per worker start rather than once per request (again after a failure).
let shell = null;
const shellCache = () => (shell ??= caches.open(SHELL).catch((problem) => { shell = null; throw problem; }));

// A new deploy: drop every older cache (drafts and the outbox live in IndexedDB, untouched).
self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith("crewlog-") && n !== SHELL && n !== PAGES).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

// Store the blank form of the logged-in user (asked by each online page); never a redirect or an error.
async function keepPage(url, user) {
  const cache = await caches.open(PAGES);
  const stored = await cache.match(url);
  const age = Date.now() - Number(stored?.headers.get("X-Crewlog-Stored") || 0);
  if (stored && stored.headers.get("X-Crewlog-User") === user && age < 600000) return;
  try {
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok || response.redirected || response.type !== "basic") return;
    const headers = new Headers(response.headers);
    headers.set("X-Crewlog-User", user);
    headers.set("X-Crewlog-Stored", String(Date.now()));
    await cache.put(url, new Response(await response.blob(), { status: response.status, headers }));
  } catch { /* offline: the next online page asks again */ }
}

self.addEventListener("message", (event) => {
  const { type, user } = event.data || {};
  if (type === "warm" && user) event.waitUntil(Promise.all(BUILD.pages.map((url) => keepPage(url, String(user)))));
  if (type === "forget-pages") event.waitUntil(caches.delete(PAGES));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/") || url.pathname === "/sw.js") return;
  if (request.mode === "navigate") event.respondWith(page(request, url));
  else if (request.method === "GET" && BUILD.shell.includes(url.pathname)) event.respondWith(shellFile(request));
});

// Network first; offline, the stored blank form (any query) or the offline page. On a weak signal
// the stored blank form is shown after a few seconds instead of a spinner. The request is sent
// before the cache is read, so that offline the stored form is ready as soon as the request fails.
async function page(request, url) {
  const network = fetch(request);
  network.catch(() => {}); // a late failure after the stored page was shown is fine
  const stored = request.method === "GET" && BUILD.pages.includes(url.pathname) ? await caches.match(url.pathname, { cacheName: PAGES }) : null;
  try {
    if (!stored) return await network;
    return await Promise.race([network, new Promise((resolve) => setTimeout(() => resolve(stored), 4000))]);
  } catch {
    return stored || (await caches.match(OFFLINE, { cacheName: SHELL })) || Response.error();
  }
}

// Cache first: shell files change only with a new deploy, which brings a new worker and cache.
// Matched by exact URL (shell URLs carry no query): ignoreSearch would read every entry.
async function shellFile(request) {
  const stored = await shellCache().then((cache) => cache.match(request)).catch(() => null);
  return stored || fetch(request);
}

// Background Sync, where the browser has it: ask the open pages to send the outbox.
self.addEventListener("sync", (event) => {
  if (event.tag !== "crewlog-outbox") return;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((all) => all.forEach((c) => c.postMessage({ type: "replay" }))));
});
