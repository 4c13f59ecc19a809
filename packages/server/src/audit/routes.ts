import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  AuditListSchema,
  ConsistencyProofSchema,
  InclusionProofSchema,
  PatternString,
  SignedTreeHeadSchema,
  TimestampSchema,
  UuidSchema,
} from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { PageLimit } from '../http/schemas.js';
import { tenantOf } from '../http/auth.js';
import { ApiError } from '../http/errors.js';
import { consistency, inclusion, integrateTenant, latestTreeHead, listAuditEntries, signTreeHeadIfGrown } from './store.js';

const Count = PatternString('^[0-9]{1,15}$', 'must be a whole number of at most 15 digits');

export function auditRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const auth = { preHandler: ctx.requireApiKey };

  /** Brings the tenant's log up to date and returns the latest signed head, signing one if the log grew. */
  const currentHead = async (tenantId: string) => {
    await integrateTenant(ctx.db, tenantId);
    const head = await signTreeHeadIfGrown(ctx.db, ctx.treeHeads, tenantId, ctx.clock(), 0);
    if (!head) throw new Error('no tree head after signing');
    return head;
  };

  r.get(
    '/v1/audit',
    {
      ...auth,
      schema: {
        summary: "The organisation's audit log, oldest first",
        querystring: Type.Object(
          {
            request_id: Type.Optional(UuidSchema),
            type: Type.Optional(Type.String({ maxLength: 100 })),
            since: Type.Optional(TimestampSchema),
            until: Type.Optional(TimestampSchema),
            limit: Type.Optional(PageLimit(1000, 100)),
            cursor: Type.Optional(Count),
          },
          { additionalProperties: false },
        ),
        response: { 200: AuditListSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      await integrateTenant(ctx.db, tenantId);
      const q = request.query;
      return listAuditEntries(ctx.db, tenantId, {
        requestId: q.request_id,
        type: q.type,
        since: q.since ? new Date(q.since) : undefined,
        until: q.until ? new Date(q.until) : undefined,
        limit: Number(q.limit ?? 100),
        afterId: q.cursor === undefined ? undefined : Number(q.cursor),
      });
    },
  );

  r.get(
    '/v1/audit/tree-head',
    {
      ...auth,
      schema: {
        summary: 'The latest signed tree head; one is signed on demand if the log has grown',
        response: { 200: SignedTreeHeadSchema },
      },
    },
    async (request) => currentHead(tenantOf(request)),
  );

  r.get(
    '/v1/audit/proof/inclusion',
    {
      ...auth,
      schema: {
        summary: 'Audit path of the entry at a leaf index in the tree of a given size (default: the latest signed head)',
        querystring: Type.Object({ index: Count, size: Type.Optional(Count) }, { additionalProperties: false }),
        response: { 200: InclusionProofSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const size = request.query.size !== undefined ? Number(request.query.size) : await defaultSize(tenantId);
      return inclusion(ctx.db, tenantId, Number(request.query.index), size);
    },
  );

  r.get(
    '/v1/audit/proof/consistency',
    {
      ...auth,
      schema: {
        summary: 'Proof that the tree of `from` leaves is a prefix of the tree of `to` leaves (default: the latest signed head)',
        querystring: Type.Object({ from: Count, to: Type.Optional(Count) }, { additionalProperties: false }),
        response: { 200: ConsistencyProofSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const to = request.query.to !== undefined ? Number(request.query.to) : await defaultSize(tenantId);
      return consistency(ctx.db, tenantId, Number(request.query.from), to);
    },
  );

  const defaultSize = async (tenantId: string): Promise<number> => {
    const head = (await latestTreeHead(ctx.db, tenantId)) ?? (await currentHead(tenantId));
    if (head.payload.tree_size === 0) throw new ApiError('empty_log', 'the audit log is empty');
    return head.payload.tree_size;
  };
}
