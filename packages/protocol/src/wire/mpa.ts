import { Type, type Static } from 'typebox';
import { ActionSchema, MpaStatusSchema, TimestampSchema, UuidSchema } from './common.js';

/** The integrator's view of an MPA request: group-level results only, never which device decided. */
export const MpaRequestViewSchema = Type.Object(
  {
    request_id: UuidSchema,
    status: MpaStatusSchema,
    groups_required: Type.Integer(),
    groups_total: Type.Integer(),
    groups_satisfied: Type.Array(Type.String(), {
      description: 'names of the groups that have approved, in the order they were satisfied',
    }),
    expires_at: TimestampSchema,
    created_at: TimestampSchema,
    completed_at: Type.Optional(TimestampSchema),
    action: ActionSchema,
  },
  { additionalProperties: false, description: 'present once the request has finished: completed_at' },
);
export type MpaRequestView = Static<typeof MpaRequestViewSchema>;

/** GET /v1/mpa/requests: a page, newest first. */
export const MpaListSchema = Type.Object(
  { data: Type.Array(MpaRequestViewSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);
export type MpaList = Static<typeof MpaListSchema>;
