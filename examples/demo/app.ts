import { format } from 'node:util';
import {
  AwaitTimeoutError,
  type Approver,
  type MpaRequest,
  type MpaRequestInput,
  type MpaResult,
  type MpaTerminalStatus,
  type PairingCreated,
  type SigilAuth,
} from '@sigilauth/sdk';
import type { Speaker, Terminal } from './terminal.js';

export const APP: Speaker = { name: 'App', colour: 'bold' };

/** The integrator's side: the guide's SDK calls, printing what the guide's code prints. */
export class App {
  constructor(
    readonly sigil: SigilAuth,
    private readonly out: Terminal,
  ) {}

  /** Like console.log, under the app's label. */
  log(...args: unknown[]): void {
    this.out.say(APP, format(...args));
  }

  async openPairing(name: string): Promise<PairingCreated> {
    const pairing = await this.sigil.pairings.create({ name });
    this.log(`Pairing code for ${name}: ${pairing.code}  (server pictogram ${pairing.pictogram.text})`);
    return pairing;
  }

  async pairedDevice(pairingId: string, name: string): Promise<Approver> {
    const done = await this.sigil.pairings.get(pairingId);
    if (done.status !== 'completed' || !done.fingerprint || !done.device_public_key) {
      throw new Error(`${name}'s pairing is ${done.status}, not completed.`);
    }
    this.log(`${name} is paired: fingerprint ${done.fingerprint.slice(0, 16)}…  device_public_key ${done.device_public_key.slice(0, 12)}…`);
    return { fingerprint: done.fingerprint, device_public_key: done.device_public_key };
  }

  async request(input: MpaRequestInput): Promise<MpaRequest> {
    const mpaRequest = await this.sigil.mpa.request(input);
    this.log('MPA request created:', mpaRequest.request_id);
    this.log('Waiting for', mpaRequest.groups_required, 'of', mpaRequest.groups_total, 'groups');
    return mpaRequest;
  }

  async awaitResult(requestId: string, timeout: number): Promise<MpaResult> {
    try {
      return await this.sigil.mpa.awaitResult(requestId, { pollInterval: 3000, timeout });
    } catch (err) {
      if (err instanceof AwaitTimeoutError) {
        throw new Error(`Request ${requestId} was still ${err.lastSeen?.status ?? 'unknown'} after ${timeout / 1000} s of polling.`);
      }
      throw err;
    }
  }

  /** The guide's if / else if chain on the result. */
  handle(result: MpaResult): void {
    if (result.status === 'approved') {
      this.log('MPA approved by:', result.groups_satisfied);
    } else if (result.status === 'rejected') {
      this.log('MPA denied by at least one group');
    } else if (result.status === 'timeout') {
      this.log('MPA timed out before reaching quorum');
      this.log('Groups that approved:', result.groups_satisfied);
    }
  }
}

export function expectStatus(result: MpaResult, expected: MpaTerminalStatus): void {
  if (result.status !== expected) {
    throw new Error(`Request ${result.request_id} ended ${result.status}, but this scenario should end ${expected}.`);
  }
}
