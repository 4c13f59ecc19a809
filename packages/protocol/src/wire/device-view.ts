import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { ActionSchema, DecisionSchema, MpaStatusSchema, Sha256HexSchema, TimestampSchema, UuidSchema } from './common.js';

/**
 * What a device is shown about one request: everything on the approval screen. The answer to a
 * decision (POST /v1/mpa/requests/:id/decisions) and what `sync` and `request` messages carry.
 */
export const DeviceRequestViewSchema = Type.Object(
  {
    tenant_id: UuidSchema,
    org_name: Type.String(),
    request_id: UuidSchema,
    status: MpaStatusSchema,
    action: ActionSchema,
    action_digest: Sha256HexSchema(),
    groups_required: Type.Integer({ minimum: 0 }),
    groups_total: Type.Integer({ minimum: 0 }),
    groups_satisfied_count: Type.Integer({ minimum: 0 }),
    group_name: Type.String({ description: 'the group this device approves for' }),
    my_decision: Type.Union([DecisionSchema, Type.Null()], { description: "this device's own recorded decision, if any" }),
    my_group_satisfied: Type.Optional(
      Type.Boolean({ description: "whether this device's group already counts as approved; absent from older servers" }),
    ),
    expires_at: TimestampSchema,
    created_at: TimestampSchema,
    completed_at: Type.Union([TimestampSchema, Type.Null()]),
  },
  { additionalProperties: false },
);
export type DeviceRequestView = Static<typeof DeviceRequestViewSchema>;

// The schema as a device checks it: the same fields and bounds, but fields a newer server adds
// (to the view or its action) are let through; a device signs only when the action digest matches
// the fields it shows.
const ReceivedDeviceRequestViewSchema = Type.Object(
  {
    ...DeviceRequestViewSchema.properties,
    action: Type.Object(ActionSchema.properties, { additionalProperties: true }),
  },
  { additionalProperties: true },
);

/** Whether a value received by a device is a DeviceRequestView (so rendering and signing cannot trip over it). */
export function isDeviceRequestView(value: unknown): value is DeviceRequestView {
  return Value.Check(ReceivedDeviceRequestViewSchema, value);
}
