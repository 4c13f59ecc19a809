// Only the pure functions are exercised here: no test sends traffic anywhere, and every
// hostname is resolved by an injected lookup (never DNS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../../../test/support/wait.js';
import {
  WebhookTargetError,
  isForbiddenAddress,
  resolveWebhookTarget,
  type ResolvedAddress,
  type WebhookTargetErrorCode,
} from '../../src/webhooks/ssrf.js';
import { LookupSlots } from '../../src/webhooks/lookup-slots.js';

function fakeLookup(table: Record<string, ResolvedAddress[]>) {
  const calls: string[] = [];
  const lookup = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const answer = table[hostname];
    if (answer === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return answer;
  };
  return { lookup, calls };
}

const noDns = async (hostname: string): Promise<ResolvedAddress[]> => {
  throw new Error(`unexpected lookup of ${hostname}`);
};

async function rejectsWith(code: WebhookTargetErrorCode, promise: Promise<unknown>, messageIncludes?: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof WebhookTargetError, `expected WebhookTargetError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (messageIncludes !== undefined) assert.ok(error.message.includes(messageIncludes), error.message);
    return true;
  });
}

test('the listed private and reserved literals are forbidden', () => {
  for (const ip of [
    '10.0.0.1',
    '127.0.0.1',
    '169.254.169.254',
    '[::1]',
    '::1',
    '::ffff:127.0.0.1',
    'fd00:ec2::254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
  ]) {
    assert.equal(isForbiddenAddress(ip), true, ip);
  }
});

test('every special-purpose IPv4 range is forbidden, edges included', () => {
  for (const ip of [
    '0.255.255.255',
    '10.255.255.255',
    '100.64.0.0',
    '100.127.255.255',
    '100.100.100.200',
    '127.255.255.254',
    '169.254.0.1',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.0.192',
    '192.0.2.1',
    '192.88.99.1',
    '192.168.1.1',
    '198.18.0.1',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
  ]) {
    assert.equal(isForbiddenAddress(ip), true, ip);
  }
  // Just outside those ranges.
  for (const ip of [
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '11.0.0.1',
    '223.255.255.255',
  ]) {
    assert.equal(isForbiddenAddress(ip), false, ip);
  }
});

test('every special-purpose IPv6 range is forbidden', () => {
  for (const ip of [
    '::',
    '::1',
    '[::]',
    '::7f00:1', // deprecated IPv4-compatible
    '100::1',
    '2001::1', // Teredo, inside 2001::/23
    '2001:1ff::1',
    '2001:db8::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'fe80::1%eth0',
    'febf::1',
    'ff02::1',
    'ff0e::1',
  ]) {
    assert.equal(isForbiddenAddress(ip), true, ip);
  }
});

test('IPv4-mapped and NAT64 addresses are judged by the IPv4 address inside', () => {
  for (const ip of [
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '[::ffff:169.254.169.254]',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::192.168.0.1',
    '2002:7f00:1::1',
  ]) {
    assert.equal(isForbiddenAddress(ip), true, ip);
  }
  for (const ip of ['::ffff:8.8.8.8', '::FFFF:0808:0808', '64:ff9b::1.1.1.1', '2002:808:808::1']) {
    assert.equal(isForbiddenAddress(ip), false, ip);
  }
});

test('public addresses are allowed', () => {
  for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '[2606:4700:4700::1111]', '2001:4860:4860::8888']) {
    assert.equal(isForbiddenAddress(ip), false, ip);
  }
});

test('anything that is not an IP literal is forbidden', () => {
  for (const value of ['', 'localhost', 'example.com', '127.1', '0x7f000001', '1.2.3.4.5', '::g']) {
    assert.equal(isForbiddenAddress(value), true, value);
  }
});

test('IP-literal URLs are checked without DNS', async () => {
  for (const url of [
    'http://127.0.0.1/hook',
    'http://10.0.0.1:8080/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]:3000/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fd00:ec2::254]/',
    'https://100.64.0.1/',
    'http://0.0.0.0/',
    'http://224.0.0.1/',
    'http://0x7f.1/', // the URL parser normalises this to 127.0.0.1
    'http://2130706433/',
  ]) {
    await rejectsWith('forbidden_address', resolveWebhookTarget(url, { allowPrivate: false, lookup: noDns }));
  }
  const target = await resolveWebhookTarget('https://[2606:4700:4700::1111]:8443/x', { allowPrivate: false, lookup: noDns });
  assert.equal(target.address, '2606:4700:4700::1111');
  assert.equal(target.family, 6);
  assert.equal(target.url.port, '8443');
});

test('a hostname resolving to a public address is accepted, resolved once', async () => {
  const { lookup, calls } = fakeLookup({ 'hooks.example.com': [{ address: '93.184.215.14', family: 4 }] });
  const target = await resolveWebhookTarget('https://hooks.example.com/sigil?x=1', { allowPrivate: false, lookup });
  assert.deepEqual(calls, ['hooks.example.com']);
  assert.equal(target.address, '93.184.215.14');
  assert.equal(target.family, 4);
  assert.equal(target.url.href, 'https://hooks.example.com/sigil?x=1');
});

test('a hostname resolving to a private address is refused, naming the host but not the address', async () => {
  const { lookup } = fakeLookup({ 'internal.example.com': [{ address: '10.1.2.3', family: 4 }] });
  await rejectsWith(
    'forbidden_address',
    resolveWebhookTarget('https://internal.example.com/', { allowPrivate: false, lookup }),
    'webhook host internal.example.com resolves to a private or reserved address',
  );
  await assert.rejects(resolveWebhookTarget('https://internal.example.com/', { allowPrivate: false, lookup }), (error: Error) => {
    assert.ok(!error.message.includes('10.1.2.3'), error.message);
    return true;
  });
});

test('a hostname resolving to both public and private addresses is refused', async () => {
  const { lookup } = fakeLookup({
    'mixed.example.com': [
      { address: '93.184.215.14', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
      { address: '::1', family: 6 },
    ],
  });
  await rejectsWith(
    'forbidden_address',
    resolveWebhookTarget('https://mixed.example.com/', { allowPrivate: false, lookup }),
    'private or reserved',
  );
});

test('allowPrivate lets private addresses through', async () => {
  const { lookup } = fakeLookup({ 'lan.example': [{ address: '192.168.1.20', family: 4 }] });
  const target = await resolveWebhookTarget('http://lan.example:8080/hook', { allowPrivate: true, lookup });
  assert.equal(target.address, '192.168.1.20');
  const loopback = await resolveWebhookTarget('http://127.0.0.1:9000/', { allowPrivate: true, lookup: noDns });
  assert.equal(loopback.address, '127.0.0.1');
  assert.equal(loopback.family, 4);
});

test('cloud metadata endpoints stay refused even with allowPrivate', async () => {
  const { lookup } = fakeLookup({ 'sneaky.example': [{ address: '169.254.169.254', family: 4 }] });
  await rejectsWith(
    'forbidden_address',
    resolveWebhookTarget('http://sneaky.example/', { allowPrivate: true, lookup }),
    'cloud metadata endpoint',
  );
  await rejectsWith('forbidden_address', resolveWebhookTarget('http://[fd00:ec2::254]/', { allowPrivate: true, lookup: noDns }));
  await rejectsWith('forbidden_address', resolveWebhookTarget('http://[::ffff:169.254.169.254]/', { allowPrivate: true, lookup: noDns }));
  // IPv4-compatible, IPv4-translated and local-use NAT64 (its /96 and /48 layouts), which allowPrivate lets through as such.
  for (const embedded of ['::a9fe:a9fe', '::ffff:0:a9fe:a9fe', '64:ff9b:1::a9fe:a9fe', '64:ff9b:1:a9fe:a9:fe00::']) {
    await rejectsWith(
      'forbidden_address',
      resolveWebhookTarget(`http://[${embedded}]/`, { allowPrivate: true, lookup: noDns }),
      'metadata',
    );
  }
  // Azure's WireServer is a public address: refused whatever allowPrivate says.
  for (const allowPrivate of [false, true]) {
    await rejectsWith('forbidden_address', resolveWebhookTarget('http://168.63.129.16/', { allowPrivate, lookup: noDns }), 'metadata');
  }
  for (const name of ['metadata.google.internal', 'METADATA.google.internal.', 'metadata', 'instance-data.ec2.internal']) {
    await rejectsWith('forbidden_address', resolveWebhookTarget(`http://${name}/`, { allowPrivate: true, lookup: noDns }), 'metadata');
  }
});

test('only http: and https: URLs without credentials are accepted', async () => {
  const options = { allowPrivate: false, lookup: noDns };
  for (const url of [
    'ftp://example.com/hook',
    'file:///etc/passwd',
    'gopher://example.com/',
    'javascript:alert(1)',
    'ws://example.com/',
    'https://user:pass@example.com/hook',
    'https://user@example.com/hook',
    'https://:secret@example.com/hook',
    'not a url',
    '/relative/path',
  ]) {
    await rejectsWith('invalid_url', resolveWebhookTarget(url, options));
  }
});

test('lookup failures and empty answers are unresolvable', async () => {
  const { lookup } = fakeLookup({ 'empty.example': [], 'garbage.example': [{ address: 'not-an-ip', family: 4 }] });
  await rejectsWith('unresolvable', resolveWebhookTarget('https://nowhere.example/', { allowPrivate: false, lookup }), 'nowhere.example');
  await rejectsWith('unresolvable', resolveWebhookTarget('https://empty.example/', { allowPrivate: false, lookup }));
  await rejectsWith('unresolvable', resolveWebhookTarget('https://garbage.example/', { allowPrivate: true, lookup }));
});

test('a name server that never answers makes the host unresolvable, not a wait without end', { timeout: 10_000 }, async () => {
  const never = () => new Promise<never>(() => {});
  await rejectsWith(
    'unresolvable',
    resolveWebhookTarget('https://slow.example/', { allowPrivate: false, lookup: never, lookupTimeoutMs: 50 }),
    'webhook host slow.example did not resolve: no answer within 0.05 s',
  );
});

test("a lookup that never ends holds its organisation's place, and no other organisation's", { timeout: 10_000 }, async () => {
  const slots = new LookupSlots(2, 1);
  // Lookups that end when the test says so, like a system lookup still running after we gave up on it.
  const pending = new Map<string, () => void>();
  const lookup = (hostname: string) =>
    new Promise<ResolvedAddress[]>((resolve) => pending.set(hostname, () => resolve([{ address: '93.184.215.14', family: 4 }])));
  const resolve = (host: string, tenantId: string, lookupTimeoutMs = 5_000) =>
    resolveWebhookTarget(`https://${host}/`, { allowPrivate: false, lookup, slots, organisationId: tenantId, lookupTimeoutMs });

  await rejectsWith('unresolvable', resolve('tarpit-1.example', 'noisy', 50), 'no answer within 0.05 s');
  assert.ok(pending.has('tarpit-1.example'), 'the first lookup started, and still runs');
  // The noisy organisation's next lookup waits for its place, and never starts.
  await rejectsWith('unresolvable', resolve('tarpit-2.example', 'noisy', 50));
  assert.equal(pending.has('tarpit-2.example'), false);

  // Another organisation takes the second place; a third waits for one.
  const other = resolve('other.example', 'other');
  await waitFor(() => pending.has('other.example'), "the other organisation's lookup to start");
  const third = resolve('third.example', 'third');
  assert.equal(pending.has('third.example'), false, 'both places are held');
  pending.get('tarpit-1.example')!();
  await waitFor(() => pending.has('third.example'), 'the place the finished lookup gave back');
  pending.get('other.example')!();
  pending.get('third.example')!();
  assert.equal((await other).address, '93.184.215.14');
  assert.equal((await third).address, '93.184.215.14');
  // With its lookup ended, the noisy organisation has its place back.
  const again = resolve('tarpit-2.example', 'noisy');
  await waitFor(() => pending.has('tarpit-2.example'), 'the noisy organisation to look up again');
  pending.get('tarpit-2.example')!();
  assert.equal((await again).address, '93.184.215.14');
});

test('lookups of one name at once share one lookup, and one place', async () => {
  const slots = new LookupSlots(2, 1);
  let started = 0;
  let answer: () => void = () => {};
  const lookup = () => {
    started++;
    return new Promise<ResolvedAddress[]>((resolve) => (answer = () => resolve([{ address: '93.184.215.14', family: 4 }])));
  };
  const burst = Array.from({ length: 16 }, () =>
    resolveWebhookTarget('https://Hooks.Example.com./x', { allowPrivate: false, lookup, slots, organisationId: 'busy' }),
  );
  await waitFor(() => started === 1, 'the lookup to start');
  answer();
  for (const target of await Promise.all(burst)) assert.equal(target.address, '93.184.215.14');
  assert.equal(started, 1);
});

test("a lookup waiting behind one organisation's share is not joined by another organisation", { timeout: 10_000 }, async () => {
  const slots = new LookupSlots(2, 1);
  const pending = new Map<string, Array<() => void>>();
  const lookup = (hostname: string) =>
    new Promise<ResolvedAddress[]>((resolve) =>
      pending.set(hostname, [...(pending.get(hostname) ?? []), () => resolve([{ address: '93.184.215.14', family: 4 }])]),
    );
  const resolve = (host: string, tenantId: string) =>
    resolveWebhookTarget(`https://${host}/`, { allowPrivate: false, lookup, slots, organisationId: tenantId });
  void resolve('tarpit.example', 'noisy').catch(() => {});
  await waitFor(() => pending.has('tarpit.example'), 'the noisy lookup to hold its place');
  // The noisy organisation asks for a name another organisation uses: it waits for its place.
  const noisy = resolve('shared.example', 'noisy');
  const other = resolve('shared.example', 'other');
  await waitFor(() => pending.get('shared.example')?.length === 1, "the other organisation's own lookup");
  pending.get('shared.example')![0]!();
  assert.equal((await other).address, '93.184.215.14');
  pending.get('tarpit.example')![0]!();
  await waitFor(() => pending.get('shared.example')?.length === 2, 'the noisy lookup to run, in its own place');
  pending.get('shared.example')![1]!();
  assert.equal((await noisy).address, '93.184.215.14');
});

test('a caller joining a wait for a place is not given up with the first caller', { timeout: 10_000 }, async () => {
  const slots = new LookupSlots(2, 1);
  const pending = new Map<string, () => void>();
  const lookup = (hostname: string) =>
    new Promise<ResolvedAddress[]>((resolve) => pending.set(hostname, () => resolve([{ address: '93.184.215.14', family: 4 }])));
  const resolve = (host: string, lookupTimeoutMs = 5_000) =>
    resolveWebhookTarget(`https://${host}/`, { allowPrivate: false, lookup, slots, organisationId: 'busy', lookupTimeoutMs });
  void resolve('held.example').catch(() => {});
  await waitFor(() => pending.has('held.example'), 'the place to be held');
  const first = resolve('wanted.example', 50);
  const second = resolve('wanted.example');
  await rejectsWith('unresolvable', first, 'no answer within 0.05 s');
  pending.get('held.example')!();
  await waitFor(() => pending.has('wanted.example'), 'the joined wait to get the place');
  pending.get('wanted.example')!();
  assert.equal((await second).address, '93.184.215.14');
});
