// The public surface of the Node entry point "@sigilauth/protocol", listed by hand: a new export is a decision.
// Wire schemas and their types are listed once, in "@sigilauth/protocol/wire".
export { canonicalize } from './jcs.js';
export {
  decodeBase64,
  decodePublicKey,
  encodePublicKey,
  FINGERPRINT_PATTERN,
  fingerprintOf,
  generateP256KeyPair,
  isFingerprint,
  KeyFormatError,
} from './keys.js';
export { DomainTag, isLowS, signingInput, signPayload, toLowS, verifyPayload } from './signing.js';
export { PICTOGRAM_EMOJI, pictogramFromDigest, pictogramInput, pictogramWith } from './pictogram.js';
export {
  actionDigestWith,
  type ApprovalGroup,
  type Approver,
  type Decision,
  MPA_LIMITS,
  type MpaAction,
  type MpaPolicy,
  type MpaRequestInput,
  type MpaStatus,
  MpaValidationError,
  type ParamValue,
  TERMINAL_STATUSES,
  validateMpaRequestWith,
  isTeamGroup,
  OWNER_ID,
  OWNER_ID_RULE,
  TEAM_SLUG,
  TEAM_SLUG_FORM,
  TEAM_SLUG_RULE,
  type RequestedBy,
  type TeamGroup,
} from './mpa.js';
export {
  ANOMALY_LIMITS,
  BATCH_SECONDS,
  EMERGENCY_OVERRIDE_ACTION,
  OVERRIDE_LIMITS,
  TEAM_LIMITS,
  TIME_ZONE_MAX_LENGTH,
} from './governance.js';

export { isFresh, SIGNATURE_FRESHNESS_MS, STATUS_REQUEST_MAX_IDS } from './messages.js';
export {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  type VerifyWebhookOptions,
  webhookHeaders,
  type WebhookHeaders,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from './webhooks.js';
export {
  auditLeafData,
  type AuditLeafEntry,
  auditLeafHash,
  type ConsistencyProofBody,
  type HashInput,
  type InclusionProofBody,
  MERKLE_HASH_SIZE,
  merkleEmptyRoot,
  merkleLeafHash,
  merkleNodeHash,
  merkleTreeRoot,
  verifyAuditConsistency,
  verifyAuditInclusion,
  verifyConsistency,
  verifyInclusion,
  verifyTreeHead,
} from './audit.js';
export {
  approvalScreen,
  type ApprovalScreen,
  APPROVED_WAITING,
  DENIED,
  formatDuration,
  formatParamValue,
  GROUP_ALREADY_SATISFIED,
  outcomeLine,
  quorumLine,
  sanitizeText,
  SCREEN_LABELS,
  type ScreenField,
  type ScreenState,
  timeLeftLine,
} from './approval-screen.js';
export { decisionChallenge } from './webauthn.js';
export { charClass, type CharClass, codePointName, displayText, MAX_COMBINING_MARKS, textProblem } from './text.js';
export { labelSkeleton, lowerCase, paramLabel, paramSkeleton } from './labels.js';
export { backoffDelay, normalizeServiceUrl, parseErrorBody, ServiceUrlError } from './client-helpers.js';
export { actionDigest, pictogramFor, validateMpaRequest } from './node.js';
export { ANOMALY_FLAG_KINDS, type AnomalyFlagKind } from './governance.js';
export { ERROR_CATALOGUE, ERROR_CODES, ErrorCode, errorStatus, isErrorCode } from './errors.js';
