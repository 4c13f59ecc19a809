/**
 * The web approver's service worker (scope /approve): keeps an offline shell, shows pushed
 * notifications, and opens a request's approval screen when one is tapped. It never decides
 * anything: deciding needs the passkey, on the page.
 */
const sw = self as unknown as ServiceWorkerGlobalScope & { SIGIL_BUILD?: string };

const CACHE = `sigil-approver-${sw.SIGIL_BUILD ?? 'dev'}`;
const SHELL = '/approve';
const ASSETS = [SHELL, `/web/approve.js?v=${sw.SIGIL_BUILD ?? ''}`, `/web/sigil.css?v=${sw.SIGIL_BUILD ?? ''}`, '/approve/icon-192.png'];

/** What the server pushes (packages/server/src/notifications/channels/push.ts). */
interface PushPayload {
  title: string;
  body: string;
  url: string;
  request_id: string;
  kind: string;
}

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(ASSETS))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith('sigil-approver-') && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== sw.location.origin) return;
  // Pages: the network first (they are tiny and always current), the cached shell when offline.
  if (event.request.mode === 'navigate' && url.pathname.startsWith('/approve')) {
    event.respondWith(fetch(event.request).catch(async () => (await caches.match(SHELL)) ?? Response.error()));
    return;
  }
  // Versioned assets: the cache first. The approver API and events are never cached.
  if (url.pathname.startsWith('/web/')) {
    event.respondWith(caches.match(event.request).then((hit) => hit ?? fetch(event.request)));
  }
});

/** Only links into this approver are followed. */
function screenUrl(raw: unknown): string {
  try {
    const url = new URL(String(raw), sw.location.origin);
    if (url.origin === sw.location.origin && /^\/approve\/requests\/[0-9a-f-]{36}$/.test(url.pathname)) return url.href;
  } catch {
    // fall through
  }
  return new URL(SHELL, sw.location.origin).href;
}

sw.addEventListener('push', (event) => {
  let payload: Partial<PushPayload> = {};
  try {
    payload = (event.data?.json() as Partial<PushPayload>) ?? {};
  } catch {
    payload = { title: 'Sigil', body: event.data?.text() ?? '' };
  }
  const title = typeof payload.title === 'string' && payload.title ? payload.title.slice(0, 200) : 'Sigil approval request';
  event.waitUntil(
    sw.registration.showNotification(title, {
      body: typeof payload.body === 'string' ? payload.body.slice(0, 500) : '',
      // One notification per request: its outcome replaces its announcement.
      tag: typeof payload.request_id === 'string' ? payload.request_id : 'sigil',
      icon: '/approve/icon-192.png',
      badge: '/approve/icon-192.png',
      data: { url: screenUrl(payload.url) },
      requireInteraction: payload.kind === 'created' || payload.kind === 'reminder',
    }),
  );
});

sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = screenUrl((event.notification.data as { url?: string } | null)?.url);
  const opening = (async () => {
    const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).pathname.startsWith('/approve')) {
        // Focusing needs the tap's user activation; navigating the open approver does not.
        const focused = await client.focus().catch(() => client);
        await focused.navigate(target).catch(() => null);
        return;
      }
    }
    await sw.clients.openWindow(target);
  })();
  event.waitUntil(opening);
});
