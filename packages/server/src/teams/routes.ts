import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ErrorBodySchema, MPA_LIMITS, TEAM_LIMITS, TEAM_SLUG } from '@sigilauth/protocol';
import type { AppContext } from '../app.js';
import { tenantOf } from '../http/auth.js';
import { Fingerprint, Timestamp } from '../http/schemas.js';
import { createTeam, deleteTeam, getTeam, listTeams, updateTeam } from './teams.js';

const Slug = Type.String({ pattern: TEAM_SLUG.source, description: "1-63 lower-case letters, digits, '-' or '_'" });
const Name = Type.String({ minLength: 1, maxLength: TEAM_LIMITS.maxNameLength, pattern: '\\S' });
const MinMembers = Type.Integer({ minimum: 1, maximum: TEAM_LIMITS.maxMinMembers });
const Members = Type.Array(Fingerprint, { maxItems: TEAM_LIMITS.maxMembers });
const SlugParams = Type.Object({ slug: Slug }, { additionalProperties: false });

export const TeamSchema = Type.Object({
  slug: Type.String(),
  name: Type.String(),
  min_members: Type.Integer(),
  members: Type.Array(
    Type.Object({
      fingerprint: Type.String(),
      name: Type.String(),
      status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
      owner_id: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  active_members: Type.Integer({ description: 'members a new request resolves to (not revoked)' }),
  created_at: Timestamp,
  updated_at: Timestamp,
});
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
        body: Type.Object(
          { slug: Slug, name: Name, members: Type.Optional(Members), min_members: Type.Optional(MinMembers) },
          { additionalProperties: false },
        ),
        response: { 201: TeamSchema, ...Errors },
      },
    },
    async (request, reply) => reply.code(201).send(await createTeam(ctx.db, tenantOf(request), request.body, ctx.clock())),
  );

  r.get(
    '/v1/teams',
    {
      ...auth,
      schema: { summary: "The organisation's teams", response: { 200: Type.Object({ data: Type.Array(TeamSchema) }), ...Errors } },
    },
    async (request) => ({ data: await listTeams(ctx.db, tenantOf(request)) }),
  );

  r.get('/v1/teams/:slug', { ...auth, schema: { params: SlugParams, response: { 200: TeamSchema, ...Errors } } }, async (request) =>
    getTeam(ctx.db, tenantOf(request), request.params.slug),
  );

  r.patch(
    '/v1/teams/:slug',
    {
      ...auth,
      schema: {
        summary: 'Rename a team, change its minimum size, add or remove members; open requests keep the members they froze',
        params: SlugParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            min_members: Type.Optional(MinMembers),
            add_members: Type.Optional(Members),
            remove_members: Type.Optional(Members),
          },
          { additionalProperties: false },
        ),
        response: { 200: TeamSchema, ...Errors },
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
        response: { 200: Type.Object({ slug: Type.String(), deleted: Type.Literal(true) }), ...Errors },
      },
    },
    async (request) => deleteTeam(ctx.db, tenantOf(request), request.params.slug, ctx.clock()),
  );
}
