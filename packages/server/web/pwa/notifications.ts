/**
 * The approver page's side of notifications: the service worker, turning push on and off for this
 * device after the person asks for it, an email address for this device, and how to install the
 * approver so a phone can receive pushes.
 */
import { fromBase64url } from '@sigilauth/protocol/bytes';
import type { ApproverNotifications, Contacts } from '@sigilauth/protocol/wire';
import { errorMessage, request } from '../lib/api.js';
import { announce, h, replace } from '../lib/dom.js';

export const SERVICE_WORKER_URL = '/approve/sw.js';
/** Covers /approve itself as well as /approve/…, hence the Service-Worker-Allowed header on the worker. */
export const SERVICE_WORKER_SCOPE = '/approve';

export function registerServiceWorker(): Promise<ServiceWorkerRegistration | null> {
  if (!('serviceWorker' in navigator)) return Promise.resolve(null);
  return navigator.serviceWorker.register(SERVICE_WORKER_URL, { scope: SERVICE_WORKER_SCOPE }).catch(() => null);
}

const pushSupported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
const installed = () =>
  window.matchMedia?.('(display-mode: standalone)').matches === true ||
  (navigator as Navigator & { standalone?: boolean }).standalone === true;
const isIos = () => /iphone|ipad|ipod/i.test(navigator.userAgent) || (navigator.platform === 'MacIntel' && navigator.maxTouchPoints > 1);

let installPrompt: (Event & { prompt(): Promise<void> }) | null = null;
window.addEventListener('beforeinstallprompt', (event) => {
  event.preventDefault();
  installPrompt = event as Event & { prompt(): Promise<void> };
  document.querySelectorAll<HTMLElement>('.js-install').forEach((el) => (el.hidden = false));
});

async function currentSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration(SERVICE_WORKER_SCOPE);
  return (await registration?.pushManager.getSubscription()) ?? null;
}

/** Asks the browser (which asks the person) and hands the subscription to the server. */
export async function subscribe(vapidPublicKey: string): Promise<string | null> {
  if ((await Notification.requestPermission()) !== 'granted')
    return 'Notifications are blocked for this site. Allow them in the browser settings and try again.';
  const registration = (await registerServiceWorker()) ?? null;
  if (!registration) return 'This browser could not start the approver in the background.';
  await navigator.serviceWorker.ready;
  let subscription: PushSubscription;
  try {
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: fromBase64url(vapidPublicKey),
    });
  } catch (err) {
    return `The browser's push service refused: ${(err as Error).message}`;
  }
  const res = await request<Contacts>('PUT', '/approve/api/notifications', { push_subscription: subscription.toJSON() });
  if (res.status !== 200) {
    await subscription.unsubscribe().catch(() => false);
    return errorMessage(res);
  }
  return null;
}

export async function unsubscribe(): Promise<string | null> {
  const res = await request<Contacts>('PUT', '/approve/api/notifications', { push_subscription: null });
  await (await currentSubscription())?.unsubscribe().catch(() => false);
  return res.status === 200 ? null : errorMessage(res);
}

function installHint(): HTMLElement | null {
  if (installed()) return null;
  if (isIos()) {
    return h(
      'p',
      { class: 'hint' },
      'On iPhone or iPad (iOS 16.4 or later): tap Share, then Add to Home Screen, and open Sigil from the Home Screen. Notifications work from there.',
    );
  }
  const button = h('button', { type: 'button', class: 'button small js-install', hidden: installPrompt === null }, 'Install the approver');
  button.addEventListener('click', () => void installPrompt?.prompt());
  return h(
    'p',
    { class: 'hint' },
    'Install the approver on this device to get notifications like an app (browser menu, Install or Add to Home Screen). ',
    button,
  );
}

/** The "Notifications" card on the inbox. */
export function notificationSection(): HTMLElement {
  const status = h('p', { class: 'hint', role: 'status' }, 'Loading…');
  const actions = h('div', { class: 'notify-actions' });
  const error = h('p', { class: 'error', role: 'alert' });
  const emailInput = h('input', { type: 'email', id: 'notify-email', autocomplete: 'email', maxlength: 254 });
  const emailForm = h(
    'form',
    { class: 'form notify-email' },
    h('div', { class: 'field' }, h('label', { for: 'notify-email' }, 'Email me too (optional)'), emailInput),
    h('button', { type: 'submit', class: 'button small' }, 'Save'),
  );
  const section = h(
    'section',
    { class: 'card notify', 'aria-labelledby': 'notify-heading' },
    h('h2', { id: 'notify-heading' }, 'Notifications'),
    status,
    actions,
    error,
    emailForm,
    installHint(),
  );

  const render = async () => {
    const res = await request<ApproverNotifications>('GET', '/approve/api/notifications');
    if (res.status !== 200) return replace(status, errorMessage(res));
    emailInput.value = res.body.email ?? '';
    const subscribed = res.body.push !== null && (pushSupported() ? (await currentSubscription()) !== null : false);
    if (!pushSupported()) {
      replace(
        status,
        installed() || !isIos()
          ? 'This browser cannot receive push notifications.'
          : 'Install the approver (below) to get push notifications.',
      );
      return replace(actions);
    }
    if (subscribed) {
      replace(status, 'This device gets a notification when a request needs you.');
      const off = h('button', { type: 'button', class: 'button small' }, 'Turn off notifications');
      off.addEventListener('click', async () => {
        off.disabled = true;
        replace(error, (await unsubscribe()) ?? '');
        announce('Notifications turned off');
        await render();
      });
      return replace(actions, off);
    }
    replace(status, 'Get a notification on this device when a request needs you. Deciding still needs your passkey.');
    const on = h('button', { type: 'button', class: 'button primary small', id: 'notify-on' }, 'Turn on notifications');
    on.addEventListener('click', async () => {
      on.disabled = true;
      const failure = await subscribe(res.body.vapid_public_key);
      replace(error, failure ?? '');
      if (!failure) announce('Notifications turned on');
      await render();
    });
    replace(actions, on);
  };

  emailForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = emailInput.value.trim();
    const res = await request<Contacts>('PUT', '/approve/api/notifications', { email: value === '' ? null : value });
    replace(error, res.status === 200 ? '' : errorMessage(res));
    if (res.status === 200) announce(value ? 'Email address saved' : 'Email address removed');
  });
  void render();
  return section;
}
