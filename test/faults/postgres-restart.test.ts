import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigilAuth } from '@sigilauth/sdk';
import { postgresBinDir } from '../support/postgres.js';
import { freePort } from '../support/processes.js';
import { describePostgres, type TestStore } from '../support/stores.js';
import { Cluster, pairApprovers, playRound, POSTGRES_FAULT_ENV, Receiver, summary, tallyEvents, waitFor, type Approvers } from './harness.js';

/** A PostgreSQL server of the test's own, of the test server's version, so restarting it disturbs no other test. */
class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly bin: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-pg-'));
    chmodSync(dir, 0o700);
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
    chownSync(dir, uid, gid);
    const pg = new PrivatePostgres(dir, await freePort(), await postgresBinDir());
    pg.asPostgres(`${pg.bin}/initdb`, ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    pg.start();
    return pg;
  }

  private asPostgres(cmd: string, args: string[]): void {
    execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore', timeout: 60_000 });
  }

  start(): void {
    this.asPostgres(`${this.bin}/pg_ctl`, ['-D', join(this.dir, 'data'), '-w', '-l', join(this.dir, 'log'), '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start']);
  }

  stop(): void {
    this.asPostgres(`${this.bin}/pg_ctl`, ['-D', join(this.dir, 'data'), '-w', '-m', 'fast', 'stop']);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describePostgres('fault scenario 3: PostgreSQL restarts under load', () => {
  let postgres: PrivatePostgres;
  let cluster: Cluster;
  let receiver: Receiver;
  let approvers: Approvers;
  let serverId: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-s3-'));

  before(async () => {
    postgres = await PrivatePostgres.start();
    const store: TestStore = { kind: 'postgres', dataDir, databaseUrl: postgres.url, dispose: async () => {} };
    cluster = await Cluster.start(store, 2, POSTGRES_FAULT_ENV);
    receiver = await Receiver.start();
    assert.equal((await cluster.api(0).post('/v1/webhooks', { url: receiver.url })).status, 201);
    serverId = (await cluster.api(0).get('/v1/info')).body.server_id;
    approvers = await pairApprovers(cluster.api(0), 4, 2);
  });
  after(async () => {
    await cluster?.stop();
    await receiver?.close();
    postgres?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('servers go not-ready and refuse writes with 503 while it is down, then recover by themselves', { timeout: 300_000 }, async () => {
    const apis = () => [cluster.api(0), cluster.api(1)];
    // What the SDK's creation attempts were answered: a status, or a network error.
    const answers: Array<number | 'network error'> = [];
    const recording: typeof fetch = async (input, init) => {
      try {
        const res = await fetch(input, init);
        answers.push(res.status);
        return res;
      } catch (err) {
        answers.push('network error');
        throw err;
      }
    };
    const sigil = new SigilAuth({ serviceUrl: cluster.url(0), apiKey: cluster.apiKey, maxRetries: 10, fetch: recording });
    const stored = async (id: string) => {
      const res = await cluster.api(0).get(`/v1/audit?request_id=${id}&type=mpa.decision&limit=100`);
      return new Map<string, string>(res.body.data.map((e: { data: { fingerprint: string; decision: string } }) => [e.data.fingerprint, e.data.decision]));
    };

    const before = await playRound(apis, serverId, approvers, stored, 6, { denyEvery: 3, label: 'before' });

    postgres.stop();
    const ready = await fetch(`${cluster.url(1)}/readyz`);
    assert.equal(ready.status, 503, 'not ready while storage is down');
    // Answered while PostgreSQL is still down (it comes back only after), not held until it returns.
    const write = await cluster.api(1).post('/v1/pairings', { name: 'during outage' });
    assert.equal(write.status, 503, JSON.stringify(write.body));
    assert.equal(write.body.error.code, 'unavailable');

    const duringOutage = sigil.mpa.request({ required: 1, groups: approvers.groups.slice(0, 1), action: { type: 'fault_test', description: 'sent while PostgreSQL was down' } });
    await waitFor(() => answers.includes(503), 'the SDK to be refused while PostgreSQL is down', 60_000);
    postgres.start();
    const created = await duringOutage;
    assert.equal(created.status, 'pending');
    assert.equal(answers[0], 503, `the first attempt was refused: ${answers.join(', ')}`);
    assert.equal(answers.at(-1), 201, `the SDK retried the creation through the outage: ${answers.join(', ')}`);

    await waitFor(async () => {
      const states = await Promise.all([0, 1].map((i) => fetch(`${cluster.url(i)}/readyz`).then((r) => r.status)));
      return states.every((s) => s === 200);
    }, 'both instances ready again', 30_000);
    const after = await playRound(apis, serverId, approvers, stored, 6, { denyEvery: 3, label: 'after' });

    const expected = [...before.expectedEvents, ...after.expectedEvents, { requestId: created.request_id, type: 'mpa.created' }];
    await waitFor(() => tallyEvents(receiver, expected).lost === 0, 'every webhook event', 60_000).catch(() => {});
    const tally = tallyEvents(receiver, expected);
    console.log(summary('scenario 3', tally));
    assert.deepEqual({ lost: tally.lost, duplicated: tally.duplicated, outOfOrder: tally.outOfOrder }, { lost: 0, duplicated: 0, outOfOrder: 0 });
  });
});
