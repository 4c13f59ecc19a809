/**
 * The code examples of the product guide (multi-party-approval-guide.txt), type-checked against
 * the built SDK by guide.test.ts (`tsc --noEmit -p test/tsconfig.json`). Never run.
 *
 * The cold-boot example is verbatim at the top level. Snippets that rely on surrounding code are
 * wrapped in functions whose parameters and the stubs below supply it; the only edits to the
 * guide's text are marked "EDITED" and explained.
 */
// ---- Example: Cold boot a production server (verbatim) ----
import { SigilAuth } from '@sigilauth/sdk';

const sigil = new SigilAuth({
  serviceUrl: 'https://sigil.example.com',
});

const mpaRequest = await sigil.mpa.request({
  required: 2, // Need 2 out of 3 groups
  groups: [
    {
      name: 'Engineering Leads',
      approvers: [
        {
          fingerprint: 'abc123...', // Alice
          device_public_key: 'Ag8xYz...',
        },
        {
          fingerprint: 'def456...', // Bob
          device_public_key: 'AhMxNj...',
        },
      ],
    },
    {
      name: 'Security Team',
      approvers: [
        {
          fingerprint: 'ghi789...', // Carol
          device_public_key: 'AjQyOT...',
        },
      ],
    },
    {
      name: 'Operations',
      approvers: [
        {
          fingerprint: 'jkl012...', // Dave
          device_public_key: 'AkU3MT...',
        },
        {
          fingerprint: 'mno345...', // Eve
          device_public_key: 'AlY4Nz...',
        },
      ],
    },
  ],
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
  expires_in_seconds: 600, // 10 minutes
});

console.log('MPA request created:', mpaRequest.request_id);
console.log('Waiting for', mpaRequest.groups_required, 'of', mpaRequest.groups_total, 'groups');

// Poll for result
const result = await sigil.mpa.awaitResult(mpaRequest.request_id, {
  pollInterval: 3000, // Check every 3 seconds
  timeout: 600000, // 10 minutes
});

if (result.status === 'approved') {
  console.log('MPA approved by:', result.groups_satisfied);
  // Proceed with cold boot
  await coldBootEngine('ENG-001');
} else if (result.status === 'rejected') {
  console.log('MPA denied by at least one group');
  // Log the denial
} else if (result.status === 'timeout') {
  console.log('MPA timed out before reaching quorum');
  // Escalate or retry
}

// ---- Stubs for the application's own functions and data ----
import type { ApprovalGroup, MpaAction, MpaRequest, MpaResult } from '@sigilauth/sdk';

declare function coldBootEngine(engineId: string): Promise<void>;
declare function performSensitiveAction(): Promise<void>;
declare function performAction(): Promise<void>;
declare function logDenial(requestId: string, action: MpaAction): Promise<void>;
declare function notifyRequester(message: string): Promise<void>;
declare function escalateToOnCall(requestId: string): Promise<void>;
declare function getUserDevices(userId: string): Promise<Array<{ name: string; fingerprint: string; public_key: string }>>;
declare const teamLeads: ApprovalGroup;
declare const security: ApprovalGroup;
declare const onCallRotation: ApprovalGroup;
declare const userId: string;
declare const userEmail: string;

// ---- Handling Results: success, denial and timeout cases ----
export async function successCase(result: MpaResult): Promise<void> {
  if (result.status === 'approved') {
    console.log('Approved by:', result.groups_satisfied);
    // ["Engineering Leads", "Security Team"]

    // Proceed with the action
    await performSensitiveAction();
  }
}

export async function denialCase(result: MpaResult, mpaRequest: MpaRequest, action: MpaAction): Promise<void> {
  if (result.status === 'rejected') {
    console.log('At least one group denied the request');

    // Log who requested it and why it was denied
    await logDenial(mpaRequest.request_id, action);

    // Notify the requester
    await notifyRequester('Your MPA request was denied');
  }
}

export async function timeoutCase(result: MpaResult, mpaRequest: MpaRequest): Promise<void> {
  if (result.status === 'timeout') {
    console.log('MPA timed out');

    console.log('Groups that approved:', result.groups_satisfied);
    // Might be ["Engineering Leads"] — not enough

    // Escalate or retry
    await escalateToOnCall(mpaRequest.request_id);
  }
}

// ---- Don't block the user: the "bad" half, which calls awaitResult with no options ----
export async function blocking(mpaRequest: MpaRequest): Promise<MpaResult> {
  // ❌ Bad: blocks the requester
  const result = await sigil.mpa.awaitResult(mpaRequest.request_id);
  await performAction();
  return result;
}

// ---- Progressive escalation ----
// EDITED: the guide's two requests have no `action`, which the server requires ("Invalid MPA
// request: action is required"); an action is added to each. As written, the example also
// compares the status of a request just created (always 'pending') with 'timeout'; the types
// allow it since request() returns the full MpaStatus union. See README for the working pattern.
export async function progressiveEscalation(): Promise<MpaRequest> {
  let result = await sigil.mpa.request({
    required: 2,
    groups: [teamLeads, security],
    expires_in_seconds: 300,
    action: { type: 'rotate_keys', description: 'Rotate production encryption keys' }, // EDITED
  });

  if (result.status === 'timeout') {
    // Escalate to on-call rotation
    result = await sigil.mpa.request({
      required: 1,
      groups: [onCallRotation],
      expires_in_seconds: 300,
      action: { type: 'rotate_keys', description: 'Rotate production encryption keys' }, // EDITED
    });
  }
  return result;
}

// ---- User-initiated MPA ----
export async function userInitiated(): Promise<void> {
  const userDevices = await getUserDevices(userId);

  await sigil.mpa.request({
    required: 2, // Need 2 of their 3 devices
    groups: userDevices.map((device) => ({
      name: device.name,
      approvers: [{ fingerprint: device.fingerprint, device_public_key: device.public_key }],
    })),
    action: {
      type: 'delete_account',
      description: 'Delete your account',
      params: { user_id: userId, email: userEmail },
    },
  });
}

// ---- README: the working escalation pattern ----
export async function escalationThatWorks(action: MpaAction): Promise<MpaResult> {
  const first = await sigil.mpa.request({ required: 2, groups: [teamLeads, security], action, expires_in_seconds: 300 });
  let result = await sigil.mpa.awaitResult(first.request_id);
  if (result.status === 'timeout') {
    const escalated = await sigil.mpa.request({ required: 1, groups: [onCallRotation], action, expires_in_seconds: 300 });
    result = await sigil.mpa.awaitResult(escalated.request_id);
  }
  return result;
}

// ---- The types must also reject misuse, or this file would prove nothing ----
export async function misuse(result: MpaResult, created: MpaRequest): Promise<void> {
  // @ts-expect-error awaitResult only resolves with finished requests
  const pending: 'pending' = result.status;
  // @ts-expect-error 'denied' is not a status (the guide's word for it is 'rejected')
  if (created.status === 'denied') return;
  // @ts-expect-error action is required
  await sigil.mpa.request({ required: 1, groups: [teamLeads] });
  // @ts-expect-error groups_satisfied is a list of group names, not a count
  const count: number = result.groups_satisfied;
  void pending;
  void count;
}
