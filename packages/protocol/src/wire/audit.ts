import { Type, type Static } from 'typebox';
import { FingerprintSchema, Sha256HexSchema, UuidSchema } from './common.js';

const Hex32 = Sha256HexSchema();

/** What the server signs, under DomainTag.treeHead, about one organisation's log. */
export const TreeHeadSchema = Type.Object(
  {
    purpose: Type.Literal('audit-tree-head'),
    server_id: FingerprintSchema,
    tenant_id: UuidSchema,
    tree_size: Type.Integer({ minimum: 0 }),
    root_hash: Sha256HexSchema('lower-case hex Merkle root of the first tree_size leaves'),
    timestamp: Type.Integer({ description: 'Unix time in milliseconds when the head was signed' }),
  },
  { additionalProperties: false },
);
export type TreeHead = Static<typeof TreeHeadSchema>;

export const SignedTreeHeadSchema = Type.Object(
  {
    payload: TreeHeadSchema,
    signature: Type.String({
      description: 'ECDSA P-256 / SHA-256 over the domain-tagged canonical payload, 64-byte r||s, standard base64',
    }),
  },
  { additionalProperties: false },
);
export type SignedTreeHead = Static<typeof SignedTreeHeadSchema>;

/** One entry of GET /v1/audit. leaf_index and leaf_hash are null until the entry is in the tree. */
export const AuditEntrySchema = Type.Object(
  {
    id: Type.Integer(),
    leaf_index: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
    leaf_hash: Type.Union([Hex32, Type.Null()]),
    tenant_id: UuidSchema,
    type: Type.String(),
    request_id: Type.Union([UuidSchema, Type.Null()]),
    data: Type.Record(Type.String(), Type.Unknown()),
    created_at: Type.String({ description: 'RFC 3339 UTC with milliseconds, e.g. "2026-01-31T12:00:00.000Z"' }),
  },
  { additionalProperties: false },
);
export type AuditEntry = Static<typeof AuditEntrySchema>;

export const AuditListSchema = Type.Object(
  { data: Type.Array(AuditEntrySchema), next_cursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);
export type AuditList = Static<typeof AuditListSchema>;

/** GET /v1/audit/proof/inclusion. */
export const InclusionProofSchema = Type.Object(
  {
    leaf_index: Type.Integer({ minimum: 0 }),
    tree_size: Type.Integer({ minimum: 1 }),
    leaf_hash: Hex32,
    audit_path: Type.Array(Hex32),
    root_hash: Hex32,
    entry: Type.Union([AuditEntrySchema, Type.Null()]),
    tree_head: Type.Union([SignedTreeHeadSchema, Type.Null()]),
  },
  { additionalProperties: false },
);
export type InclusionProof = Static<typeof InclusionProofSchema>;

/** GET /v1/audit/proof/consistency. */
export const ConsistencyProofSchema = Type.Object(
  {
    from: Type.Integer({ minimum: 1 }),
    to: Type.Integer({ minimum: 1 }),
    from_root: Hex32,
    to_root: Hex32,
    proof: Type.Array(Hex32),
    from_tree_head: Type.Union([SignedTreeHeadSchema, Type.Null()]),
    to_tree_head: Type.Union([SignedTreeHeadSchema, Type.Null()]),
  },
  { additionalProperties: false },
);
export type ConsistencyProof = Static<typeof ConsistencyProofSchema>;
