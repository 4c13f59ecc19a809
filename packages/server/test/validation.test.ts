import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { coldBootRequest, pairDevice, startTestServer, type TestServer } from '../../../test/support/api.js';
import { TestDevice } from '../../../test/support/device-keys.js';
import { createStore, describeEachStore, type TestStore } from '../../../test/support/stores.js';

describeEachStore('MPA request validation', (kind) => {
  let store: TestStore;
  let t: TestServer;
  const [a, b, c, unpaired, revoked] = ['A', 'B', 'C', 'U', 'R'].map((n) => new TestDevice(n)) as TestDevice[] as [
    TestDevice,
    TestDevice,
    TestDevice,
    TestDevice,
    TestDevice,
  ];
  const valid = () => coldBootRequest({ engineering: [a], security: [b], operations: [c] });

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store);
    for (const d of [a, b, c, revoked]) await pairDevice(t.api, t.serverId, d);
    await t.api.delete(`/v1/devices/${revoked.fingerprint}`);
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  const rejects = async (body: unknown, message: string | RegExp) => {
    const res = await t.api.post('/v1/mpa/requests', body);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.error.code, 'invalid_request');
    if (typeof message === 'string') assert.equal(res.body.error.message, message);
    else assert.match(res.body.error.message, message);
  };

  test("the guide's messages, exactly", async () => {
    await rejects({ ...valid(), required: 4 }, 'Invalid MPA request: required cannot exceed number of groups');
    for (const expires of [59, 901, 0, 60.5, '300']) {
      await rejects({ ...valid(), expires_in_seconds: expires }, 'Invalid expires_in_seconds: must be between 60 and 900');
    }
  });

  test('expiry defaults to 300 seconds and accepts both bounds', async () => {
    const { expires_in_seconds: _omit, ...body } = valid();
    const res = await t.api.post('/v1/mpa/requests', body);
    assert.equal(res.status, 201);
    assert.equal(Date.parse(res.body.expires_at) - Date.parse(res.body.created_at), 300_000);
    for (const s of [60, 900]) assert.equal((await t.api.post('/v1/mpa/requests', { ...valid(), expires_in_seconds: s })).status, 201);
  });

  test('shape and policy errors have clear messages', async () => {
    const v = valid();
    await rejects({ ...v, required: 0 }, 'Invalid MPA request: required must be an integer of at least 1');
    await rejects({ ...v, required: 1.5 }, 'Invalid MPA request: required must be an integer of at least 1');
    await rejects({ ...v, groups: [] }, 'Invalid MPA request: groups must be a non-empty array');
    await rejects(
      { ...v, groups: [{ ...v.groups[0], name: ' ' }, v.groups[1], v.groups[2]] },
      'Invalid MPA request: groups[0].name is required',
    );
    await rejects(
      { ...v, groups: [v.groups[0], { ...v.groups[1], name: 'Engineering Leads' }, v.groups[2]] },
      'Invalid MPA request: duplicate group name "Engineering Leads"',
    );
    await rejects(
      { ...v, groups: [v.groups[0], { ...v.groups[1], approvers: [] }, v.groups[2]] },
      'Invalid MPA request: group "Security Team" has no approvers',
    );
    await rejects(
      {
        ...v,
        groups: [v.groups[0], { ...v.groups[1], approvers: [{ fingerprint: a.fingerprint, device_public_key: b.publicKey }] }, v.groups[2]],
      },
      `Invalid MPA request: fingerprint ${a.fingerprint} does not match its device_public_key`,
    );
    await rejects(
      { ...v, groups: [v.groups[0], { ...v.groups[1], approvers: [a.approver] }, v.groups[2]] },
      `Invalid MPA request: device ${a.fingerprint} appears in more than one group ("Engineering Leads" and "Security Team")`,
    );
    await rejects({ ...v, action: { ...v.action, type: undefined } }, 'Invalid MPA request: action.type is required');
    await rejects({ ...v, action: { ...v.action, description: '' } }, 'Invalid MPA request: action.description is required');
    await rejects(
      { ...v, action: { ...v.action, params: { nested: { a: 1 } } } },
      'Invalid MPA request: action.params.nested must be a string, number or boolean',
    );
    await rejects(
      { ...v, action: { ...v.action, params: { big: 'x'.repeat(1001) } } },
      'Invalid MPA request: action.params.big must be at most 1000 characters',
    );
    const nine = Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'j'].map((k) => [k, 'x'.repeat(1000)]));
    await rejects({ ...v, action: { ...v.action, params: nine } }, 'Invalid MPA request: action must be at most 8192 bytes as JSON');
    await rejects(
      { ...v, action: { ...v.action, description: 'Cold boot\u200b' } },
      'Invalid MPA request: action.description contains an invisible or formatting character (U+200B)',
    );
    await rejects({ ...v, colour: 'red' }, 'Invalid MPA request: unknown field colour');
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `g${i}`, approvers: [a.approver] }));
    await rejects({ ...v, groups: many }, 'Invalid MPA request: at most 20 groups are allowed');
  });

  test('approvers must be active devices paired with this organisation', async () => {
    const v = valid();
    await rejects(
      { ...v, groups: [v.groups[0], { ...v.groups[1], approvers: [unpaired.approver] }, v.groups[2]] },
      `Invalid MPA request: device ${unpaired.fingerprint} is not paired with this organisation`,
    );
    await rejects(
      { ...v, groups: [v.groups[0], { ...v.groups[1], approvers: [revoked.approver] }, v.groups[2]] },
      `Invalid MPA request: device ${revoked.fingerprint} has been revoked`,
    );
  });

  test('a rejected request writes nothing', async () => {
    const before = (await t.api.get('/v1/mpa/requests?limit=100')).body.data.length;
    await rejects({ ...valid(), required: 9 }, /required cannot exceed/);
    const v = valid();
    await rejects({ ...v, groups: [v.groups[0], { ...v.groups[1], approvers: [unpaired.approver] }, v.groups[2]] }, /not paired/);
    assert.equal((await t.api.get('/v1/mpa/requests?limit=100')).body.data.length, before);
  });
});
