/** Requests as they arrive: the server's event stream, the request list it keeps in sync, and the page title. */
import { approvalScreen, outcomeLine, sanitizeText } from '@sigilauth/protocol/screen';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import type { ApiResult } from '../lib/api.js';
import { announce } from '../lib/dom.js';
import { getMe, getRequest, getRequests } from './api.js';
import { navigate, route } from './routing.js';
import { app, now, requests, type Connection, type RequestPage } from './state.js';
import { renderInboxList } from './views/inbox.js';

export function connectEvents(): void {
  app.events?.close();
  const source = new EventSource('/approve/events');
  app.events = source;
  source.addEventListener('open', () => setConnection('live'));
  source.addEventListener('sync', (event) => {
    const data = JSON.parse((event as MessageEvent<string>).data) as RequestPage & { server_time: number };
    app.clockOffset = data.server_time - Date.now();
    setConnection('live');
    void readPages(data).then((listed) => {
      // Pending requests missing from the sync finished while we were away: fetch their outcome.
      for (const [id, view] of requests) if (view.status === 'pending' && !listed.has(id)) void reconcile(id);
    });
  });
  source.addEventListener('request', (event) => upsert(JSON.parse((event as MessageEvent<string>).data) as DeviceRequestView));
  source.addEventListener('revoked', () => {
    const org = sanitizeText(app.me?.org_name ?? 'Your organisation');
    source.close();
    app.events = null;
    app.me = null;
    requests.clear();
    updateTitle();
    app.flash = `${org} has revoked this device: it can no longer approve or deny requests. To approve from this browser again, ask for a new pairing code.`;
    announce(app.flash);
    navigate('/approve', true);
  });
  source.addEventListener('error', () => {
    setConnection('reconnecting');
    if (source.readyState !== EventSource.CLOSED) return; // the browser retries by itself
    window.setTimeout(async () => {
      if (app.events !== source) return;
      const check = await getMe();
      if (check.status === 401) {
        app.me = null;
        app.events = null;
        route();
      } else {
        connectEvents();
      }
    }, 3000);
  });
}

function setConnection(state: Connection): void {
  app.connection = state;
  const el = document.getElementById('connection');
  if (el) el.textContent = connectionText();
}

export const connectionText = () =>
  app.connection === 'live'
    ? 'Live: new requests appear here as they arrive.'
    : app.connection === 'connecting'
      ? 'Connecting…'
      : 'Reconnecting…';

/** Shows a page of pending requests and reads the ones after it; resolves to the IDs of all it read. */
export async function readPages(first: RequestPage, show: (view: DeviceRequestView) => void = upsert): Promise<Set<string>> {
  const listed = new Set<string>();
  let page: RequestPage | null = first;
  while (page) {
    for (const view of page.requests) {
      listed.add(view.request_id);
      show(view);
    }
    if (page.next_cursor === null) break;
    const next: ApiResult<RequestPage> = await getRequests(page.next_cursor);
    page = next.status === 200 ? next.body : null;
  }
  return listed;
}

export async function refresh(id: string): Promise<void> {
  const res = await getRequest(id);
  if (res.status === 200) upsert(res.body);
}

/** Requests being reconciled, so one sync does not start a second loop for the same request. */
const reconciling = new Set<string>();

/**
 * After a reconnect, a request shown as pending that the sync no longer lists has finished while
 * the page was away: its outcome is asked of the server until it answers (it may be restarting,
 * or its database unreachable for a moment), so the screen never keeps showing it pending.
 */
async function reconcile(id: string): Promise<void> {
  if (reconciling.has(id)) return;
  reconciling.add(id);
  try {
    for (let attempt = 0; attempt < 12 && app.me && requests.get(id)?.status === 'pending'; attempt++) {
      const res = await getRequest(id);
      if (res.status === 200) return upsert(res.body);
      if (res.status === 401 || res.status === 403 || res.status === 404) return;
      await new Promise((resolve) => window.setTimeout(resolve, Math.min(30_000, 500 * 2 ** attempt)));
    }
  } finally {
    reconciling.delete(id);
  }
}

export function upsert(view: DeviceRequestView): void {
  const previous = requests.get(view.request_id);
  requests.set(view.request_id, view);
  if (!previous && view.status === 'pending' && view.my_decision === null) {
    const model = approvalScreen(view, now());
    announce(`New request: ${model.heading}. ${model.description}`);
  } else if (previous?.status === 'pending' && view.status !== 'pending' && !(app.screen && app.screen.id === view.request_id)) {
    announce(`${outcomeLine(view.status)}: ${sanitizeText(view.action.description)}`);
  }
  updateTitle();
  if (app.screen?.id === view.request_id) app.screen.update(view);
  else if (!app.screen && app.me && location.pathname.replace(/\/$/, '') === '/approve') renderInboxList();
}

export function updateTitle(): void {
  const waiting = [...requests.values()].filter((r) => r.status === 'pending' && r.my_decision === null).length;
  document.title = waiting > 0 ? `(${waiting}) Sigil approver` : 'Sigil approver';
}
