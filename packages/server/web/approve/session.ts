/** The signed-in approver: load who we are and the pending requests, or sign out. */
import { getMe, getRequests, logout } from './api.js';
import { connectEvents, readPages, updateTitle } from './live.js';
import { navigate } from './routing.js';
import { app, requests } from './state.js';

export async function loadMe(): Promise<void> {
  const res = await getMe();
  app.me = res.status === 200 ? res.body : null;
  if (!app.me) return;
  app.clockOffset = app.me.server_time - Date.now();
  const pending = await getRequests();
  if (pending.status === 200) await readPages(pending.body, (view) => void requests.set(view.request_id, view));
  updateTitle();
  connectEvents();
}

export async function signOut(): Promise<void> {
  await logout();
  app.events?.close();
  app.events = null;
  app.me = null;
  requests.clear();
  navigate('/approve', true);
}
