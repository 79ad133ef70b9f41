// mlsys-srs web review: the page's own files kept for offline use (a secure context only:
// localhost, or HTTPS). The API is never cached; the page queues answers itself (IndexedDB).
'use strict';
const CACHE = 'mlsys-srs-v1';
const SHELL = ['./', 'static/app.js', 'static/app.css', 'manifest.webmanifest', 'static/icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  const navigate = req.mode === 'navigate';
  // The network first (the page stays current), the copy kept here when it is not there.
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);
      if (res.ok && res.type === 'basic' && !res.redirected) {
        await cache.put(navigate ? './' : req, res.clone());
      }
      return res;
    } catch (err) {
      const hit = await cache.match(navigate ? './' : req, { ignoreSearch: navigate });
      if (hit) return hit;
      throw err;
    }
  })());
});
