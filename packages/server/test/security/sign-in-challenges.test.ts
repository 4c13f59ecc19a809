// Attack: anyone may ask for a sign-in challenge, with no key and from as many addresses as they
// hold, so a challenge that was a stored row let them grow the database without bound. Sign-in
// challenges are now stateless (an expiry and a MAC under the server's key): asking writes
// nothing, and only a sign-in whose passkey assertion verified is written down, once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { type Api, startTestServer, type TestServer } from '../../../../test/support/api.js';
import { createStore, describeEachStore, type TestStore } from '../../../../test/support/stores.js';
import { pairPasskey, SoftwarePasskey } from '../../../../test/support/webauthn.js';

describeEachStore('sign-in challenges', (kind) => {
  let store: TestStore;
  let t: TestServer;
  let anyone: Api;
  let phone: SoftwarePasskey;
  const clock = { now: Date.now() };

  before(async () => {
    store = await createStore(kind);
    t = await startTestServer(store, { clock: () => clock.now });
    anyone = t.api.withKey(null);
    phone = SoftwarePasskey.create(t.server.publicOrigin!);
    const paired = await pairPasskey(t.api, (await t.api.post('/v1/pairings', {})).body.code, phone, { name: "Alice's phone" });
    assert.equal(paired.complete?.status, 200, JSON.stringify(paired.complete?.body));
  });
  after(async () => {
    await t?.close();
    await store?.dispose();
  });

  const options = async () => {
    const res = await anyone.post('/approve/api/session/options');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return { id: res.body.challenge_id as string, challenge: res.body.options.challenge as string };
  };
  const signIn = (id: string, challenge: string) =>
    anyone.post('/approve/api/session', { challenge_id: id, webauthn: phone.assert(challenge) });
  const storedChallenges = async () =>
    Number((await t.server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webauthn_challenges'))[0]!.n);

  test('asking for sign-in challenges writes nothing', async () => {
    const before = await storedChallenges();
    const issued = new Set<string>();
    for (let i = 0; i < 8; i++) issued.add((await options()).challenge);
    assert.equal(issued.size, 8, 'each challenge is new');
    assert.equal(await storedChallenges(), before);
  });

  test('a challenge signs in once', async () => {
    const { id, challenge } = await options();
    const first = await signIn(id, challenge);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await signIn(id, challenge);
    assert.equal(again.status, 400);
    assert.equal(again.body.error.code, 'challenge_expired');
  });

  test("a challenge that is altered, another's, made up or expired signs nobody in", async () => {
    const a = await options();
    const b = await options();
    const raw = Buffer.from(a.challenge, 'base64url');
    raw[raw.length - 1]! ^= 1;
    const extended = Buffer.from(a.challenge, 'base64url');
    extended.writeBigUInt64BE(extended.readBigUInt64BE(0) + 3_600_000n);
    for (const [id, challenge, what] of [
      [a.id, raw.toString('base64url'), 'an altered MAC'],
      [a.id, extended.toString('base64url'), 'a later expiry'],
      [b.id, a.challenge, "another challenge's id"],
      [a.id, Buffer.alloc(40, 7).toString('base64url'), 'a made-up challenge'],
    ] as const) {
      const res = await signIn(id, challenge);
      assert.equal(res.status, 400, what);
      assert.equal(res.body.error.code, 'challenge_expired', what);
    }
    const late = await options();
    clock.now += 2 * 60_000 + 1;
    const res = await signIn(late.id, late.challenge);
    assert.equal(res.body.error.code, 'challenge_expired', 'past its two minutes');
    assert.equal((await signIn(a.id, a.challenge)).body.error.code, 'challenge_expired');
  });
});
