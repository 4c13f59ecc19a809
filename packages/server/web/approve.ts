/**
 * The web approver: pair this browser with a passkey, see requests as they arrive, and approve or
 * deny each with the passkey (the platform's own biometric or screen-lock prompt). The wording is
 * the approval screen's, shared with sigil-device through @sigilauth/protocol's approval-screen.
 * The modules under approve/ hold its state, routing, views, ceremonies and API calls.
 */
import { timeLeftLine } from '@sigilauth/protocol/screen';
import { errorMessage } from './lib/api.js';
import { h, replace } from './lib/dom.js';
import { getConfig } from './approve/api.js';
import { installRouting, route } from './approve/routing.js';
import { loadMe } from './approve/session.js';
import { registerServiceWorker } from './pwa/notifications.js';
import { app, main, now } from './approve/state.js';

installRouting();

window.setInterval(() => {
  for (const el of document.querySelectorAll<HTMLElement>('.js-expires')) {
    const at = el.dataset.expires;
    if (at) el.textContent = timeLeftLine(at, now());
  }
}, 1000);

async function start(): Promise<void> {
  const res = await getConfig();
  if (res.status !== 200) {
    replace(main(), h('h1', {}, 'Sigil is unavailable'), h('p', {}, errorMessage(res, 'The server did not answer.')));
    return;
  }
  app.config = res.body;
  app.clockOffset = app.config.server_time - Date.now();
  if (app.config.origin && location.origin === app.config.origin) {
    void registerServiceWorker();
    await loadMe();
  }
  route();
}

void start().catch((err: unknown) => {
  replace(main(), h('h1', {}, 'Something went wrong'), h('p', {}, String((err as Error)?.message ?? err)));
});
