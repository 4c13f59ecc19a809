import type { Static } from 'typebox';
import { SCREEN_LABELS } from './approval-screen.js';
import { canonicalize } from './jcs.js';
import { toHex, utf8 } from './bytes.js';
import type { SigilCrypto } from './crypto/types.js';
import { isFingerprint, KeyFormatError } from './key-format.js';
import { labelSkeleton, paramSkeleton } from './labels.js';
import { textProblem } from './text.js';
import type { DecisionSchema, MpaStatusSchema, ParamValueSchema } from './wire/common.js';
import type {
  ApprovalGroupSchema,
  ApproverSchema,
  MpaActionSchema,
  MpaRequestInputSchema,
  RequestedBySchema,
  TeamGroupSchema,
} from './wire/mpa.js';

export const MPA_LIMITS = {
  maxGroups: 20,
  maxApproversPerGroup: 50,
  maxGroupNameLength: 100,
  maxActionBytes: 8192,
  maxActionTypeLength: 100,
  maxActionDescriptionLength: 1000,
  maxParams: 50,
  maxParamKeyLength: 100,
  maxParamValueLength: 1000,
  minExpiresInSeconds: 60,
  maxExpiresInSeconds: 900,
  defaultExpiresInSeconds: 300,
} as const;

export type ParamValue = Static<typeof ParamValueSchema>;

/** A device that may approve: its fingerprint and its 33-byte compressed P-256 key (standard base64). */
export type Approver = Static<typeof ApproverSchema>;

export type ApprovalGroup = Static<typeof ApprovalGroupSchema>;

/** A group that names an approval team instead of listing approvers: its active members when the request is created. */
export type TeamGroup = Static<typeof TeamGroupSchema>;

/** Who asked for the action; their own devices never count toward the quorum (docs/governance.md). */
export type RequestedBy = Static<typeof RequestedBySchema>;

/** A team's slug: lower-case letters, digits, '-' and '_', starting with a letter or digit. */
export const TEAM_SLUG = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TEAM_SLUG_FORM = "1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit";
export const TEAM_SLUG_RULE = `must be a team slug: ${TEAM_SLUG_FORM}`;
/** A device owner's id, as the integrator names the person: 1-200 printable ASCII characters without spaces. */
export const OWNER_ID = /^[\x21-\x7e]{1,200}$/;
export const OWNER_ID_RULE = 'must be 1-200 printable ASCII characters without spaces';

export const isTeamGroup = (group: ApprovalGroup | TeamGroup): group is TeamGroup => 'team' in group;

/** Params are shown to approvers; values must be strings, numbers or booleans. */
export type MpaAction = Static<typeof MpaActionSchema>;

/** Body of POST /v1/mpa/requests: 1 to groups.length of the groups must approve; expires_in_seconds 60 to 900, default 300. */
export type MpaRequestInput = Static<typeof MpaRequestInputSchema>;

/** The input with defaults applied: what the server stores and the policy it enforces. */
export interface MpaPolicy {
  required: number;
  /** Team groups are resolved to their active members by the server, when it creates the request. */
  groups: (ApprovalGroup | TeamGroup)[];
  action: Required<MpaAction>;
  expires_in_seconds: number;
  requested_by?: RequestedBy;
}

export type MpaStatus = Static<typeof MpaStatusSchema>;
export const TERMINAL_STATUSES: readonly MpaStatus[] = ['approved', 'rejected', 'timeout', 'cancelled'];
export type Decision = Static<typeof DecisionSchema>;

export class MpaValidationError extends Error {
  override name = 'MpaValidationError';
  readonly code = 'invalid_request';
}

const REQUEST_FIELDS = new Set(['required', 'groups', 'action', 'expires_in_seconds', 'requested_by']);
const GROUP_FIELDS = new Set(['name', 'approvers']);
const TEAM_GROUP_FIELDS = new Set(['name', 'team']);
const APPROVER_FIELDS = new Set(['fingerprint', 'device_public_key']);
const ACTION_FIELDS = new Set(['type', 'description', 'params']);

function fail(message: string): never {
  throw new MpaValidationError(message);
}
function invalid(detail: string): never {
  fail(`Invalid MPA request: ${detail}`);
}
function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function rejectUnknown(obj: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const key of Object.keys(obj)) if (!allowed.has(key)) invalid(`unknown field ${where}${key}`);
}
function checkText(value: unknown, field: string, max: number): string {
  if (typeof value !== 'string' || value.trim() === '') invalid(`${field} is required`);
  if (!value.isWellFormed()) invalid(`${field} is not valid Unicode`);
  if (value.length > max) invalid(`${field} must be at most ${max} characters`);
  shownAsSent(value, field);
  return value;
}
/** Refuses text an approver could not see exactly as it is signed (see textProblem). */
function shownAsSent(value: string, field: string): void {
  const problem = textProblem(value);
  if (problem !== null) invalid(`${field} ${problem}`);
}

/** Labels the approval screen shows itself, as skeletons: a param may not pass for one of them. */
const RESERVED_LABELS = new Map(Object.values(SCREEN_LABELS).map((label) => [labelSkeleton(label), label]));

/**
 * Validates an MPA request body exactly as the server does, with the same messages,
 * and returns the policy with defaults applied. Device pairing is checked by the server only.
 * `fingerprintOfKey` returns the fingerprint of a device_public_key, or throws KeyFormatError
 * when it is not a valid compressed P-256 point (Node: validateMpaRequest binds node:crypto).
 */
export function validateMpaRequestWith(body: unknown, fingerprintOfKey: (devicePublicKey: string) => string): MpaPolicy {
  if (!isPlainObject(body)) invalid('body must be a JSON object');
  rejectUnknown(body, REQUEST_FIELDS, '');

  const { required, groups, action } = body;
  const expires = body.expires_in_seconds === undefined ? MPA_LIMITS.defaultExpiresInSeconds : body.expires_in_seconds;
  if (typeof required !== 'number' || !Number.isInteger(required) || required < 1) {
    invalid('required must be an integer of at least 1');
  }
  if (!Array.isArray(groups) || groups.length === 0) invalid('groups must be a non-empty array');
  if (groups.length > MPA_LIMITS.maxGroups) invalid(`at most ${MPA_LIMITS.maxGroups} groups are allowed`);
  if (required > groups.length) invalid('required cannot exceed number of groups');
  if (
    typeof expires !== 'number' ||
    !Number.isInteger(expires) ||
    expires < MPA_LIMITS.minExpiresInSeconds ||
    expires > MPA_LIMITS.maxExpiresInSeconds
  ) {
    fail('Invalid expires_in_seconds: must be between 60 and 900');
  }

  const names = new Set<string>();
  const devices = new Map<string, string>();
  const teams = new Map<string, string>();
  const policyGroups: (ApprovalGroup | TeamGroup)[] = groups.map((group, gi) => {
    if (!isPlainObject(group)) invalid(`groups[${gi}] must be an object`);
    if ('team' in group && 'approvers' in group) invalid(`groups[${gi}] names a team and lists approvers; give one or the other`);
    rejectUnknown(group, 'team' in group ? TEAM_GROUP_FIELDS : GROUP_FIELDS, `groups[${gi}].`);
    const name = checkText(group.name, `groups[${gi}].name`, MPA_LIMITS.maxGroupNameLength);
    if (names.has(name)) invalid(`duplicate group name "${name}"`);
    names.add(name);
    if ('team' in group) {
      const team = group.team;
      if (typeof team !== 'string' || !TEAM_SLUG.test(team)) {
        invalid(`groups[${gi}].team ${TEAM_SLUG_RULE}`);
      }
      const seenIn = teams.get(team);
      if (seenIn !== undefined) invalid(`team "${team}" is named by more than one group ("${seenIn}" and "${name}")`);
      teams.set(team, name);
      return { name, team };
    }
    const approvers = group.approvers;
    if (!Array.isArray(approvers) || approvers.length === 0) invalid(`group "${name}" has no approvers`);
    if (approvers.length > MPA_LIMITS.maxApproversPerGroup) {
      invalid(`group "${name}" has more than ${MPA_LIMITS.maxApproversPerGroup} approvers`);
    }
    return {
      name,
      approvers: approvers.map((approver, ai): Approver => {
        if (!isPlainObject(approver)) invalid(`groups[${gi}].approvers[${ai}] must be an object`);
        rejectUnknown(approver, APPROVER_FIELDS, `groups[${gi}].approvers[${ai}].`);
        const { fingerprint, device_public_key } = approver;
        if (!isFingerprint(fingerprint)) {
          invalid(`groups[${gi}].approvers[${ai}].fingerprint must be 64 lower-case hex characters`);
        }
        if (typeof device_public_key !== 'string') {
          invalid(`groups[${gi}].approvers[${ai}].device_public_key is required`);
        }
        let keyFingerprint: string;
        try {
          keyFingerprint = fingerprintOfKey(device_public_key);
        } catch (err) {
          if (err instanceof KeyFormatError) invalid(`groups[${gi}].approvers[${ai}].${err.message}`);
          throw err;
        }
        if (keyFingerprint !== fingerprint) {
          invalid(`fingerprint ${fingerprint} does not match its device_public_key`);
        }
        const seenIn = devices.get(fingerprint);
        if (seenIn !== undefined) {
          invalid(
            seenIn === name
              ? `device ${fingerprint} appears twice in group "${name}"`
              : `device ${fingerprint} appears in more than one group ("${seenIn}" and "${name}")`,
          );
        }
        devices.set(fingerprint, name);
        return { fingerprint, device_public_key };
      }),
    };
  });

  const policy: MpaPolicy = { required, groups: policyGroups, action: validateAction(action), expires_in_seconds: expires };
  if (body.requested_by !== undefined) policy.requested_by = validateRequestedBy(body.requested_by);
  return policy;
}

function validateRequestedBy(value: unknown): RequestedBy {
  if (!isPlainObject(value)) invalid('requested_by must be an object');
  const keys = Object.keys(value);
  if (keys.length !== 1 || (keys[0] !== 'fingerprint' && keys[0] !== 'id')) {
    invalid('requested_by must have exactly one of fingerprint or id');
  }
  if ('fingerprint' in value) {
    if (!isFingerprint(value.fingerprint)) invalid('requested_by.fingerprint must be 64 lower-case hex characters');
    return { fingerprint: value.fingerprint };
  }
  if (typeof value.id !== 'string' || !OWNER_ID.test(value.id)) invalid(`requested_by.id ${OWNER_ID_RULE}`);
  return { id: value.id };
}

function validateAction(action: unknown): Required<MpaAction> {
  if (!isPlainObject(action)) invalid('action is required');
  rejectUnknown(action, ACTION_FIELDS, 'action.');
  const type = checkText(action.type, 'action.type', MPA_LIMITS.maxActionTypeLength);
  const description = checkText(action.description, 'action.description', MPA_LIMITS.maxActionDescriptionLength);
  const params = action.params === undefined ? {} : action.params;
  if (!isPlainObject(params)) invalid('action.params must be an object');
  const entries = Object.entries(params);
  if (entries.length > MPA_LIMITS.maxParams) invalid(`action.params may have at most ${MPA_LIMITS.maxParams} entries`);
  const labels = new Map<string, string>();
  for (const [key, value] of entries) {
    if (!key.isWellFormed()) invalid('action.params keys must be valid Unicode');
    if (key.length > MPA_LIMITS.maxParamKeyLength) invalid(`action.params keys must be at most ${MPA_LIMITS.maxParamKeyLength} characters`);
    shownAsSent(key, `action.params key "${key}"`);
    const ok = typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
    if (!ok) invalid(`action.params.${key} must be a string, number or boolean`);
    if (typeof value === 'string') {
      if (!value.isWellFormed()) invalid(`action.params.${key} is not valid Unicode`);
      if (value.length > MPA_LIMITS.maxParamValueLength) {
        invalid(`action.params.${key} must be at most ${MPA_LIMITS.maxParamValueLength} characters`);
      }
      shownAsSent(value, `action.params.${key}`);
    }
    // Two params an approver cannot tell apart (amount / Amount, engine_id / Engine ID, a Cyrillic
    // а for a Latin a), or one that passes for a line of the screen itself, are refused.
    if (labelSkeleton(key) === '') invalid(`action.params key "${key}" has no letter or digit to label it with`);
    const skeleton = paramSkeleton(key);
    const reserved = RESERVED_LABELS.get(skeleton);
    if (reserved !== undefined) invalid(`action.params key "${key}" would look like the approval screen's own "${reserved}" line`);
    const twin = labels.get(skeleton);
    if (twin !== undefined) invalid(`action.params keys "${twin}" and "${key}" would look alike on the approval screen`);
    labels.set(skeleton, key);
  }
  const normalized = { type, description, params: params as Record<string, ParamValue> };
  if (utf8(canonicalize(normalized)).length > MPA_LIMITS.maxActionBytes) {
    invalid(`action must be at most ${MPA_LIMITS.maxActionBytes} bytes as JSON`);
  }
  return normalized;
}

/** The SHA-256 (lower-case hex) of the canonical action, with the given crypto: what an approver's signature commits to. */
export async function actionDigestWith(crypto: SigilCrypto, action: Required<MpaAction>): Promise<string> {
  return toHex(await crypto.sha256(utf8(canonicalize(action))));
}
