/** The product guide's running example: cold-booting engine ENG-001 with 2 of 3 groups approving. */

export const COLD_BOOT_ACTION = {
  type: 'cold_boot',
  description: 'Cold boot engine ENG-001',
  params: { engine_id: 'ENG-001', reason: 'Scheduled maintenance', requested_by: 'alice@example.com', ticket: 'MAINT-1234' },
};

/** An approver as a request names it. */
export interface ApproverRef {
  fingerprint: string;
  device_public_key: string;
}

type ApproverLike = ApproverRef | { approver: ApproverRef };

const refOf = (a: ApproverLike): ApproverRef => {
  const { fingerprint, device_public_key } = 'approver' in a ? a.approver : a;
  return { fingerprint, device_public_key };
};

/** The guide's cold-boot request (a fresh copy each time) for the given approvers or test devices. */
export function coldBootRequest(
  groups: { engineering: ApproverLike[]; security: ApproverLike[]; operations: ApproverLike[] },
  expiresInSeconds = 600,
) {
  return {
    required: 2,
    groups: [
      { name: 'Engineering Leads', approvers: groups.engineering.map(refOf) },
      { name: 'Security Team', approvers: groups.security.map(refOf) },
      { name: 'Operations', approvers: groups.operations.map(refOf) },
    ],
    action: structuredClone(COLD_BOOT_ACTION),
    expires_in_seconds: expiresInSeconds,
  };
}
