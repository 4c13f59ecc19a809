import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MPA_LIMITS, TEAM_LIMITS } from '@sigilauth/protocol';
import {
  ErrorBodySchema,
  TeamDeletedSchema,
  TeamInputSchema,
  TeamListSchema,
  TeamSlugSchema,
  TeamUpdateSchema,
  TeamViewSchema,
} from '@sigilauth/protocol/wire';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { createTeam, deleteTeam, getTeam, listTeams, updateTeam } from './teams.js';

const SlugParams = Type.Object({ slug: TeamSlugSchema }, { additionalProperties: false });
const Errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 404: ErrorBodySchema, 409: ErrorBodySchema };

// A team's members are at most the most approvers a group may list.
if (TEAM_LIMITS.maxMembers > MPA_LIMITS.maxApproversPerGroup) throw new Error('a team may not outgrow a group');

export function teamRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  const auth = { preHandler: ctx.requireApiKey };

  r.post(
    '/v1/teams',
    {
      ...auth,
      schema: {
        summary: 'Create an approval team: a named set of devices a request group can name instead of listing approvers',
        body: TeamInputSchema,
        response: { 201: TeamViewSchema, ...Errors },
      },
    },
    async (request, reply) => reply.code(201).send(await createTeam(ctx.db, tenantOf(request), request.body, ctx.clock())),
  );

  r.get(
    '/v1/teams',
    {
      ...auth,
      schema: { summary: "The organisation's teams", response: { 200: TeamListSchema, ...Errors } },
    },
    async (request) => ({ data: await listTeams(ctx.db, tenantOf(request)) }),
  );

  r.get('/v1/teams/:slug', { ...auth, schema: { params: SlugParams, response: { 200: TeamViewSchema, ...Errors } } }, async (request) =>
    getTeam(ctx.db, tenantOf(request), request.params.slug),
  );

  r.patch(
    '/v1/teams/:slug',
    {
      ...auth,
      schema: {
        summary: 'Rename a team, change its minimum size, add or remove members; open requests keep the members they froze',
        params: SlugParams,
        body: TeamUpdateSchema,
        response: { 200: TeamViewSchema, ...Errors },
      },
    },
    async (request) => updateTeam(ctx.db, tenantOf(request), request.params.slug, request.body, ctx.clock()),
  );

  r.delete(
    '/v1/teams/:slug',
    {
      ...auth,
      schema: {
        summary: 'Delete a team; open requests keep the members they froze',
        params: SlugParams,
        response: { 200: TeamDeletedSchema, ...Errors },
      },
    },
    async (request) => deleteTeam(ctx.db, tenantOf(request), request.params.slug, ctx.clock()),
  );
}
