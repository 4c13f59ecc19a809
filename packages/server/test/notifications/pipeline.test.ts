// Notifications end to end on both stores: push (VAPID checked, body decrypted), email (a real
// SMTP server) and Slack, all on loopback, through the outbox; the log; reminders; faults.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestDevice } from '../../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { createApiKey } from '../../src/tenants/api-keys.js';
import { createTenant } from '../../src/tenants/tenants.js';
import {
  create,
  decide,
  notificationLog,
  pairDevice,
  patchDevice,
  startLoopback,
  startNotifyServer,
  waitFor,
  type Loopback,
  type TestServer,
} from './harness.js';

describeEachStore('notifications', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let lo: Loopback;
  const phone = new TestDevice('Alice phone');
  const mailer = new TestDevice('Bob laptop');
  const chatty = new TestDevice('Carol desk');
  let phoneSub: ReturnType<Loopback['push']['subscribe']>;
  const origin = () => t.server.publicOrigin ?? t.server.url;

  before(async () => {
    store = await createStore(kind);
    lo = await startLoopback();
    t = await startNotifyServer(store, lo.smtp.url);
    for (const d of [phone, mailer, chatty]) await pairDevice(t.api, t.serverId, d);
    phoneSub = lo.push.subscribe();
    assert.equal((await patchDevice(t.api, phone.fingerprint, { push_subscription: phoneSub })).status, 200);
    assert.equal((await patchDevice(t.api, mailer.fingerprint, { email: 'bob@example.test' })).status, 200);
    const slack = await patchDevice(t.api, chatty.fingerprint, { slack_webhook_url: lo.slack.url });
    assert.equal(slack.status, 200, JSON.stringify(slack.body));
    assert.equal(
      slack.body.notifications.slack_webhook,
      `${new URL(lo.slack.url).origin}/…`,
      'the Slack URL is a capability: only its origin is shown',
    );
  });
  after(async () => {
    await t?.close();
    await lo?.close();
    await store?.dispose();
  });

  test('a new request reaches every approver on its channel: push, email, Slack; the log says delivered/sent', async () => {
    const request = await create(t.api, [phone, mailer, chatty]);
    const push = await waitFor(() => lo.push.messages.find((m) => m.payload.request_id === request.id), 'the push message');
    assert.deepEqual(lo.push.rejected, []);
    assert.equal(push.subscription, lo.push.idOf(phoneSub));
    assert.equal(push.payload.title, 'Acme Corp is requesting approval');
    assert.equal(push.payload.body, 'Deploy v2.4 to production');
    assert.equal(push.payload.url, `${origin()}/approve/requests/${request.id}`);
    assert.equal(push.payload.kind, 'created');
    assert.ok(!JSON.stringify(push.payload).includes('INTERNAL-4242'), 'params never leave the server');
    assert.equal(push.headers.topic, request.id.replaceAll('-', ''));
    assert.equal(push.headers.urgency, 'high');
    const vapid = await t.api.get('/v1/notifications/settings');
    assert.equal(vapid.status, 200);

    const mail = await waitFor(() => lo.smtp.mails.find((m) => m.text.includes(request.id)), 'the email');
    assert.deepEqual(mail.to, ['bob@example.test']);
    assert.equal(mail.headers.get('subject'), 'Acme Corp is requesting approval');
    assert.match(mail.headers.get('from') ?? '', /sigil@example\.test/);
    assert.match(mail.headers.get('message-id') ?? '', /^<[0-9a-f-]{36}@sigil>$/);
    assert.ok(mail.text.includes('Deploy v2.4 to production'));
    assert.ok(mail.text.includes(`Open the request: ${origin()}/approve/requests/${request.id}`));
    assert.ok(mail.html.includes(`href="${origin()}/approve/requests/${request.id}"`));
    assert.ok(!mail.raw.includes('INTERNAL-4242'));

    const slack = await waitFor(() => lo.slack.received.find((r) => r.body.includes(request.id)), 'the Slack message');
    const blocks = JSON.parse(slack.body);
    assert.equal(blocks.blocks[0].type, 'header');
    assert.equal(blocks.blocks[0].text.text, 'Acme Corp is requesting approval');
    assert.equal(blocks.blocks[1].text.text, 'Deploy v2.4 to production');
    assert.equal(blocks.blocks[2].elements[0].url, `${origin()}/approve/requests/${request.id}`);

    const log = await waitFor(async () => {
      const rows = await notificationLog(t.api, request.id);
      return rows.length === 3 && rows.every((r) => r.status !== 'queued') ? rows : null;
    }, 'the log to settle');
    const byChannel = Object.fromEntries(log.map((r) => [r.channel, r]));
    assert.equal(byChannel.push!.status, 'delivered');
    assert.equal(byChannel.push!.fingerprint, phone.fingerprint);
    assert.equal(byChannel.email!.status, 'sent');
    assert.equal(byChannel.email!.target, 'bob@example.test');
    assert.equal(byChannel.slack!.status, 'delivered');
    for (const row of log) assert.equal(row.attempts.length, 1);

    const metrics = await t.api.get('/metrics');
    assert.match(String(metrics.body), /sigil_notifications_total\{channel="push",outcome="delivered"\} [1-9]/);
    assert.match(String(metrics.body), /sigil_notifications_total\{channel="email",outcome="sent"\} [1-9]/);
  });

  test('a denial tells everyone who was asked, once each', async () => {
    const request = await create(t.api, [phone, mailer, chatty], 'Rotate the root key');
    await waitFor(() => lo.push.messages.some((m) => m.payload.request_id === request.id), 'the first push');
    await decide(t.api, t.serverId, mailer, request, 'deny');
    const push = await waitFor(
      () => lo.push.messages.find((m) => m.payload.request_id === request.id && m.payload.kind === 'rejected'),
      'the denial push',
    );
    assert.equal(push.payload.title, 'MPA request denied');
    await waitFor(
      () => lo.smtp.mails.find((m) => m.text.includes(request.id) && m.headers.get('subject') === 'MPA request denied'),
      'the denial email',
    );
    await waitFor(
      () => lo.slack.received.find((r) => r.body.includes(request.id) && r.body.includes('MPA request denied')),
      'the denial on Slack',
    );
    const log = await waitFor(async () => {
      const rows = await notificationLog(t.api, request.id);
      return rows.length === 6 && rows.every((r) => r.status !== 'queued') ? rows : null;
    }, 'six notifications settled');
    assert.equal(log.filter((r) => r.kind === 'rejected').length, 3);
  });

  test('the log is confined to the organisation', async () => {
    const request = await create(t.api, [phone]);
    const otherTenant = (await createTenant(t.server.db, 'Other Org')).id;
    const other = t.api.withKey((await createApiKey(t.server.db, otherTenant, 'other', 'live')).key);
    assert.equal((await other.get(`/v1/mpa/requests/${request.id}/notifications`)).status, 404);
    assert.equal((await patchDevice(other, phone.fingerprint, { email: 'x@example.test' })).status, 404);
    assert.equal((await t.api.withKey(null).get(`/v1/mpa/requests/${request.id}/notifications`)).status, 401);
  });

  test('bad contact settings are refused with 400 and change nothing', async () => {
    const before = (await t.api.get(`/v1/devices/${mailer.fingerprint}/notifications`)).body.notifications;
    for (const body of [
      { email: 'not an address' },
      { email: 'a@b.c\r\nBcc: x@y.z' },
      { slack_webhook_url: 'ftp://example.test/x' },
      { push_subscription: { endpoint: lo.push.origin + '/push/x', keys: { p256dh: 'AAAA', auth: 'AAAA' } } },
      { push_subscription: { endpoint: 'http://169.254.169.254/latest', keys: phoneSub.keys } },
      { unknown: true },
    ]) {
      const res = await patchDevice(t.api, mailer.fingerprint, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.ok(res.body.error.code, JSON.stringify(res.body));
    }
    assert.deepEqual((await t.api.get(`/v1/devices/${mailer.fingerprint}/notifications`)).body.notifications, before);
  });

  test('an organisation that sends titles only sends no description anywhere', async () => {
    assert.equal((await t.api.request('PATCH', '/v1/notifications/settings', { content: 'title_only' })).status, 200);
    try {
      const request = await create(t.api, [phone, mailer], 'Wire 1,000,000 EUR to account 99');
      const push = await waitFor(() => lo.push.messages.find((m) => m.payload.request_id === request.id), 'the push');
      assert.equal(push.payload.body, '');
      const mail = await waitFor(() => lo.smtp.mails.find((m) => m.text.includes(request.id)), 'the email');
      assert.ok(!mail.raw.includes('1,000,000'));
    } finally {
      await t.api.request('PATCH', '/v1/notifications/settings', { content: 'full' });
    }
  });

  test('push service and SMTP server down, then back: every notification arrives exactly once', async () => {
    await lo.push.pause();
    await lo.smtp.pause();
    const requests: Array<{ id: string; action: unknown }> = [];
    for (let i = 0; i < 3; i++) requests.push(await create(t.api, [phone, mailer], `Outage test ${i}`));
    await waitFor(async () => {
      const rows = await notificationLog(t.api, requests[2]!.id);
      return rows.length === 2 && rows.every((r) => r.attempts.length >= 2 && r.status === 'queued') ? rows : null;
    }, 'failed attempts while both are down');
    await lo.push.resume();
    await lo.smtp.resume();
    for (const r of requests) {
      await waitFor(async () => {
        const rows = await notificationLog(t.api, r.id);
        return rows.length === 2 && rows.every((x) => x.status === 'delivered' || x.status === 'sent');
      }, `request ${r.id} notified`);
      assert.equal(lo.push.messages.filter((m) => m.payload.request_id === r.id).length, 1);
      assert.equal(lo.smtp.mails.filter((m) => m.text.includes(r.id)).length, 1);
    }
    const row = (await notificationLog(t.api, requests[0]!.id)).find((r) => r.channel === 'push')!;
    assert.ok(
      row.attempts.some((a) => a.outcome === 'failed' && a.error),
      'the failed attempts are in the log with their reason',
    );
  });

  test('a subscription the push service calls gone is dropped; revocation forgets a device', async () => {
    const extra = new TestDevice('Dan tablet');
    await pairDevice(t.api, t.serverId, extra);
    const sub = lo.push.subscribe();
    assert.equal((await patchDevice(t.api, extra.fingerprint, { push_subscription: sub, email: 'dan@example.test' })).status, 200);
    lo.push.answer = (id) => (id === lo.push.idOf(sub) ? 'gone' : 'accept');
    try {
      const request = await create(t.api, [extra]);
      const row = await waitFor(
        async () => (await notificationLog(t.api, request.id)).find((r) => r.channel === 'push' && r.status === 'failed'),
        'the failed push',
      );
      assert.match(row.reason ?? '', /gone/);
      assert.equal(row.attempts.length, 1, 'a gone subscription is not retried');
      await waitFor(
        async () => (await t.api.get(`/v1/devices/${extra.fingerprint}/notifications`)).body.notifications.push === null,
        'the subscription dropped',
      );
    } finally {
      lo.push.answer = () => 'accept';
    }
    assert.equal((await t.api.delete(`/v1/devices/${extra.fingerprint}`)).status, 200);
    const after = await t.api.get(`/v1/devices/${extra.fingerprint}/notifications`);
    assert.deepEqual(after.body.notifications, { email: null, slack_webhook: null, push: null });
    assert.equal((await patchDevice(t.api, extra.fingerprint, { email: 'dan@example.test' })).status, 403);
  });
});

describeEachStore('notification reminders', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let lo: Loopback;
  let offset = 0;
  const device = new TestDevice('Erin phone');
  const decided = new TestDevice('Frank phone');

  before(async () => {
    store = await createStore(kind);
    lo = await startLoopback();
    t = await startNotifyServer(store, lo.smtp.url, { clock: () => Date.now() + offset });
    await pairDevice(t.api, t.serverId, device);
    await pairDevice(t.api, t.serverId, decided);
    await patchDevice(t.api, device.fingerprint, { email: 'erin@example.test' });
    await patchDevice(t.api, decided.fingerprint, { email: 'frank@example.test' });
  });
  after(async () => {
    await t?.close();
    await lo?.close();
    await store?.dispose();
  });

  test('undecided approvers are reminded once, when half the expiry has passed', async () => {
    const res = await t.api.post('/v1/mpa/requests', {
      required: 2,
      groups: [
        { name: 'A', approvers: [device.approver] },
        { name: 'B', approvers: [decided.approver] },
      ],
      action: { type: 'deployment', description: 'Two groups', params: {} },
      expires_in_seconds: 600,
    });
    assert.equal(res.status, 201);
    const two = { id: res.body.request_id as string, action: res.body.action };
    await decide(t.api, t.serverId, decided, two, 'approve');
    await waitFor(() => lo.smtp.mails.filter((m) => m.text.includes(two.id)).length === 2, 'the two first emails');
    offset += 250_000;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(lo.smtp.mails.filter((m) => m.headers.get('subject')?.startsWith('Reminder')).length, 0, 'not before half the expiry');
    offset += 60_000;
    const reminder = await waitFor(
      () => lo.smtp.mails.find((m) => m.text.includes(two.id) && m.headers.get('subject')?.startsWith('Reminder:')),
      'the reminder',
    );
    assert.deepEqual(reminder.to, ['erin@example.test'], 'only the approver who has not decided');
    offset += 100_000;
    await waitFor(
      async () => (await notificationLog(t.api, two.id)).filter((r) => r.kind === 'reminder').every((r) => r.status === 'sent'),
      'the reminder logged',
    );
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(
      lo.smtp.mails.filter((m) => m.text.includes(two.id) && m.headers.get('subject')?.startsWith('Reminder:')).length,
      1,
      'once',
    );
  });
});
