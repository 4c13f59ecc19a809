// The product guide's "Cold boot a production server" example, unchanged but for the service URL
// and the approvers' fingerprints and keys, which come from the environment here.
import { SigilAuth } from '@sigilauth/sdk';

// Say which variable is missing before the request would fail on an empty fingerprint.
// `npm run demo -- --devices-only` pairs five demo devices and prints every one of them.
const needed = ['SIGIL_API_KEY', ...['ALICE', 'BOB', 'CAROL', 'DAVE', 'EVE'].flatMap((n) => [`${n}_FINGERPRINT`, `${n}_PUBLIC_KEY`])];
const missing = needed.filter((name) => !process.env[name]);
if (missing.length > 0) {
  console.error(`Missing environment variable${missing.length === 1 ? '' : 's'}: ${missing.join(', ')}`);
  console.error('Export them first; `npm run demo -- --devices-only` pairs five demo devices and prints the export lines.');
  process.exit(1);
}

const sigil = new SigilAuth({
  serviceUrl: process.env.SIGIL_URL ?? 'http://127.0.0.1:8080',
});

const mpaRequest = await sigil.mpa.request({
  required: 2, // Need 2 out of 3 groups
  groups: [
    {
      name: 'Engineering Leads',
      approvers: [
        {
          fingerprint: process.env.ALICE_FINGERPRINT!, // Alice
          device_public_key: process.env.ALICE_PUBLIC_KEY!,
        },
        {
          fingerprint: process.env.BOB_FINGERPRINT!, // Bob
          device_public_key: process.env.BOB_PUBLIC_KEY!,
        },
      ],
    },
    {
      name: 'Security Team',
      approvers: [
        {
          fingerprint: process.env.CAROL_FINGERPRINT!, // Carol
          device_public_key: process.env.CAROL_PUBLIC_KEY!,
        },
      ],
    },
    {
      name: 'Operations',
      approvers: [
        {
          fingerprint: process.env.DAVE_FINGERPRINT!, // Dave
          device_public_key: process.env.DAVE_PUBLIC_KEY!,
        },
        {
          fingerprint: process.env.EVE_FINGERPRINT!, // Eve
          device_public_key: process.env.EVE_PUBLIC_KEY!,
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

/** The application's own action, run only after approval. */
async function coldBootEngine(engineId: string): Promise<void> {
  console.log(`Cold booting engine ${engineId}`);
}
