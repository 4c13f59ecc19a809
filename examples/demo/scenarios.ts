import { setTimeout as sleep } from 'node:timers/promises';
import type { ApprovalGroup, MpaRequestInput } from '@sigilauth/sdk';
import { APP, expectStatus, type App } from './app.js';
import { withCountdown } from './countdown.js';
import type { Cast } from './people.js';
import type { Terminal } from './terminal.js';

export interface Stage {
  out: Terminal;
  app: App;
  cast: Cast;
}

const RESULT_TIMEOUT_MS = 30_000;
const DAVE_READS_MS = 3_000;
const TIMEOUT_SCENARIO_EXPIRY_S = 60;

const screenFor = (id: string) => new RegExp(`^--- Request ${id} ---$`);
const announced = (outcome: 'approved' | 'denied' | 'timed out', id: string) => new RegExp(`^MPA request ${outcome} \\(request ${id}\\)$`);

/** The guide's groups: 2 of 3 needed, redundancy in Engineering and Operations. */
function guideGroups(cast: Cast): ApprovalGroup[] {
  return [
    { name: 'Engineering Leads', approvers: [cast.get('Alice').approver, cast.get('Bob').approver] },
    { name: 'Security Team', approvers: [cast.get('Carol').approver] },
    { name: 'Operations', approvers: [cast.get('Dave').approver, cast.get('Eve').approver] },
  ];
}

const GROUPS_LINE = 'Groups (2 of 3 required): Engineering Leads = Alice, Bob · Security Team = Carol · Operations = Dave, Eve';

export async function pairEveryone({ out, app, cast }: Stage): Promise<void> {
  out.narrate('The app opens a pairing code per person; each person runs `sigil-device pair` on their own device.');
  for (const person of cast.everyone) {
    const pairing = await app.openPairing(person.name);
    const fingerprint = await person.pair(pairing.code);
    person.paired(await app.pairedDevice(pairing.pairing_id, person.name), fingerprint);
  }
}

export async function coldBoot({ out, app, cast }: Stage): Promise<void> {
  out.heading(
    "Scenario 1 of 3 · Cold boot a production server (the guide's example)",
    GROUPS_LINE,
    'Alice and Carol approve; Bob watches; Dave and Eve never answer.',
  );
  out.narrate('Every device runs `sigil-device listen`. Alice and Carol add `--auto approve`; the others only display.');
  await Promise.all(cast.everyone.map((p) => p.listen(p.name === 'Alice' || p.name === 'Carol' ? 'approve' : undefined)));

  const marks = cast.mark();
  const mpaRequest = await app.request({
    required: 2,
    groups: guideGroups(cast),
    action: {
      type: 'cold_boot',
      description: 'Cold boot engine ENG-001',
      params: {
        engine_id: 'ENG-001',
        reason: 'Scheduled maintenance',
        requested_by: 'alice@example.com',
        ticket: 'MAINT-1234',
      },
    },
    expires_in_seconds: 600,
  });
  const id = mpaRequest.request_id;

  const [result] = await Promise.all([
    app.awaitResult(id, RESULT_TIMEOUT_MS).then((r) => {
      app.handle(r);
      if (r.status === 'approved') app.log('Cold booting engine ENG-001');
      return r;
    }),
    cast.allSee(announced('approved', id), 'the approval', marks),
  ]);
  expectStatus(result, 'approved');
  out.narrate(`Approved by ${result.groups_satisfied.join(' and ')}; Operations (Dave, Eve) never answered and did not need to.`);
}

export async function deniedByOne({ out, app, cast }: Stage): Promise<void> {
  out.heading(
    'Scenario 2 of 3 · Wire transfer over $10,000, denied by one approver',
    GROUPS_LINE,
    'Dave reads the request and denies it: one denial ends the request for everyone.',
  );
  out.narrate('Alice and Carol restart `sigil-device listen` without --auto: nobody decides automatically from now on.');
  const alice = cast.get('Alice');
  const carol = cast.get('Carol');
  await Promise.all([alice.stopListening(), carol.stopListening()]);
  await Promise.all([alice.listen(), carol.listen()]);

  const marks = cast.mark();
  const input: MpaRequestInput = {
    required: 2,
    groups: guideGroups(cast),
    action: {
      type: 'wire_transfer',
      description: 'Wire transfer of $48,500.00 to Globex Industrial Ltd',
      params: {
        amount: '$48,500.00',
        beneficiary: 'Globex Industrial Ltd',
        destination_account: 'GB29 NWBK 6016 1331 9268 19',
        reason: 'Supplier invoice INV-20931',
        requested_by: 'bob@example.com',
        ticket: 'FIN-5678',
      },
    },
    expires_in_seconds: 300,
  };
  const { request_id: id } = await app.request(input);

  const dave = cast.get('Dave');
  const [result] = await Promise.all([
    app.awaitResult(id, RESULT_TIMEOUT_MS).then((r) => {
      app.handle(r);
      if (r.status === 'rejected') app.log('Wire transfer not sent; telling the requester: Your MPA request was denied');
      return r;
    }),
    (async () => {
      await cast.allSee(screenFor(id), 'the wire transfer', marks);
      out.narrate('Everyone sees the transfer. Dave reads it for a few seconds…');
      await sleep(DAVE_READS_MS);
      out.narrate(`…and denies it from his terminal: sigil-device respond ${id} --deny`);
      await dave.respond(id, 'deny');
      await cast.allSee(announced('denied', id), 'the denial', marks);
    })(),
  ]);
  expectStatus(result, 'rejected');
  out.narrate('The app learns only that a group denied it, not who: Sigil exposes group-level results.');
}

export async function timesOut({ out, app, cast }: Stage): Promise<void> {
  out.heading(
    'Scenario 3 of 3 · Grant admin access, nobody answers',
    GROUPS_LINE,
    `expires_in_seconds: ${TIMEOUT_SCENARIO_EXPIRY_S} (the minimum Sigil allows). Every device shows it; nobody decides.`,
  );

  const marks = cast.mark();
  const mpaRequest = await app.request({
    required: 2,
    groups: guideGroups(cast),
    action: {
      type: 'grant_admin',
      description: 'Grant admin access to contractor account',
      params: {
        account: 'jordan.lee@contractor.example.com',
        role: 'org-admin',
        reason: 'Production incident INC-7731',
        requested_by: 'eve@example.com',
        duration: '4 hours',
      },
    },
    expires_in_seconds: TIMEOUT_SCENARIO_EXPIRY_S,
  });
  const id = mpaRequest.request_id;
  const waitMs = TIMEOUT_SCENARIO_EXPIRY_S * 1000 + RESULT_TIMEOUT_MS;

  const [result] = await Promise.all([
    withCountdown(out, APP, mpaRequest.expires_at, app.awaitResult(id, waitMs)).then((r) => {
      app.handle(r);
      if (r.status === 'timeout') app.log("Escalating to the on-call rotation (the guide's next step)");
      return r;
    }),
    cast.allSee(announced('timed out', id), 'the timeout', marks, waitMs),
  ]);
  expectStatus(result, 'timeout');
}
