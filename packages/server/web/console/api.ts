/** The console's API client: Sigil's JSON API with this tab's key; a refused key signs out. */
import { request, type ApiResult } from '../lib/api.js';
import { signOut } from './views/sign-in.js';
import { session } from './state.js';

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
  const res = await request<T>(method, path, body, session.apiKey ? { authorization: `Bearer ${session.apiKey}` } : {});
  if (res.status === 401 && session.apiKey) {
    signOut('Your API key was refused (revoked or wrong). Sign in again.');
  }
  return res;
}
