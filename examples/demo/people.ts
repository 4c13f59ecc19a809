import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Approver } from '@sigilauth/sdk';
import type { Proc, ProcessGroup } from './processes.js';
import { requireBuilt } from './server.js';
import type { Speaker, Style } from './terminal.js';

export const DEVICE_CLI = fileURLToPath(new URL('../../packages/device/dist/cli.js', import.meta.url));

export type Decision = 'approve' | 'deny';

const CAST = [
  ['Alice', 'cyan'],
  ['Bob', 'blue'],
  ['Carol', 'green'],
  ['Dave', 'yellow'],
  ['Eve', 'magenta'],
] as const satisfies ReadonlyArray<readonly [string, Style]>;

export type Name = (typeof CAST)[number][0];

const PAIR_TIMEOUT_MS = 20_000;
const RESPOND_TIMEOUT_MS = 20_000;
const CONNECT_TIMEOUT_MS = 30_000;

/** One approver and their device: a `sigil-device` home directory and the processes run on it. */
export class Person {
  readonly speaker: Speaker;
  private keys: Approver | null = null;
  private listener: Proc | null = null;

  constructor(
    readonly name: Name,
    colour: Style,
    private readonly home: string,
    private readonly serverUrl: string,
    private readonly procs: ProcessGroup,
  ) {
    this.speaker = { name, colour };
  }

  get approver(): Approver {
    if (!this.keys) throw new Error(`${this.name}'s device is not paired yet.`);
    return this.keys;
  }

  get screen(): Proc {
    if (!this.listener?.running) throw new Error(`${this.name}'s device is not listening.`);
    return this.listener;
  }

  /** Runs `sigil-device pair` and returns the fingerprint the device printed. */
  async pair(code: string): Promise<string> {
    const proc = await this.procs.run(
      this.speaker,
      `${this.name}'s sigil-device pair`,
      DEVICE_CLI,
      ['pair', '--server', this.serverUrl, '--code', code, '--name', this.name, '--yes', '--home', this.home],
      PAIR_TIMEOUT_MS,
      { display: (line) => (line === '' ? null : line) },
    );
    const fingerprint = proc.lines.map((l) => l.match(/^fingerprint: ([0-9a-f]{64})$/)?.[1]).find(Boolean);
    if (!fingerprint) throw new Error(`${this.name}'s sigil-device pair did not print a fingerprint.${proc.tail()}`);
    return fingerprint;
  }

  /** Records the keys the server holds for this device, after checking them against what the device printed. */
  paired(approver: Approver, fingerprintOnDevice: string): void {
    if (approver.fingerprint !== fingerprintOnDevice) {
      throw new Error(`${this.name}: the server has fingerprint ${approver.fingerprint}, the device printed ${fingerprintOnDevice}.`);
    }
    this.keys = approver;
  }

  /** Starts `sigil-device listen` and waits until it has connected and synced. */
  async listen(auto?: Decision): Promise<void> {
    if (this.listener?.running) throw new Error(`${this.name}'s device is already listening.`);
    const args = ['listen', ...(auto ? ['--auto', auto] : []), '--server', this.serverUrl, '--home', this.home];
    const proc = this.procs.start(this.speaker, `${this.name}'s sigil-device listen`, DEVICE_CLI, args);
    this.listener = proc;
    const what = `${this.name}'s device to connect`;
    await proc.waitFor(/Waiting for approval requests\.$/, what, { timeoutMs: CONNECT_TIMEOUT_MS });
    await proc.waitFor(/^\d+ pending requests?\.$/, what, { timeoutMs: CONNECT_TIMEOUT_MS });
  }

  async stopListening(): Promise<void> {
    const proc = this.listener;
    this.listener = null;
    if (!proc) return;
    await proc.stop();
    if (!proc.lines.includes('Stopped listening.')) throw new Error(`${this.name}'s device did not stop cleanly.${proc.tail()}`);
  }

  /** `sigil-device respond ID --approve|--deny`, as a separate process on the same device. */
  async respond(requestId: string, decision: Decision): Promise<void> {
    await this.procs.run(
      this.speaker,
      `${this.name}'s sigil-device respond`,
      DEVICE_CLI,
      ['respond', requestId, `--${decision}`, '--server', this.serverUrl, '--home', this.home],
      RESPOND_TIMEOUT_MS,
    );
  }
}

/** The five approvers, each with a device home of their own under `root`. */
export class Cast {
  readonly everyone: readonly Person[];

  constructor(root: string, serverUrl: string, procs: ProcessGroup) {
    requireBuilt(DEVICE_CLI);
    this.everyone = CAST.map(([name, colour]) => {
      const home = join(root, name.toLowerCase());
      mkdirSync(home, { recursive: true, mode: 0o700 });
      return new Person(name, colour, home, serverUrl, procs);
    });
  }

  get(name: Name): Person {
    return this.everyone.find((p) => p.name === name)!;
  }

  /** Where each listening device's output stands now. */
  mark(): Map<Name, number> {
    return new Map(this.everyone.map((p) => [p.name, p.screen.mark()]));
  }

  /** Waits until every listening device has printed a line matching `pattern` since `marks`. */
  async allSee(pattern: RegExp, what: string, marks: Map<Name, number>, timeoutMs = 20_000): Promise<void> {
    await Promise.all(
      this.everyone.map((p) =>
        p.screen.waitFor(pattern, `${p.name}'s device to show ${what}`, { since: marks.get(p.name) ?? 0, timeoutMs }),
      ),
    );
  }
}
