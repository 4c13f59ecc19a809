/**
 * The operator console: a light client of Sigil's JSON API, signed in with an API key that is
 * kept in this tab's sessionStorage and sent as a Bearer token. No auth system of its own.
 * Views: requests (filter by status, refreshed live), one request's timeline, devices (pair,
 * revoke, attestation), webhooks and their deliveries, and the audit log with its verification.
 * The modules under console/ hold its state, routing, API client and views.
 */
import { request } from './lib/api.js';
import { installRouting } from './console/routing.js';
import { KEY_STORAGE, session, type Info } from './console/state.js';
import { enter, showSignIn, signOut } from './console/views/sign-in.js';

installRouting();

async function start(): Promise<void> {
  session.apiKey = sessionStorage.getItem(KEY_STORAGE);
  if (!session.apiKey) return showSignIn();
  const res = await request<Info>('GET', '/v1/info', undefined, { authorization: `Bearer ${session.apiKey}` });
  if (res.status !== 200) return signOut(res.status === 401 ? 'Your API key was refused. Sign in again.' : undefined);
  await enter(res.body);
}

void start();
