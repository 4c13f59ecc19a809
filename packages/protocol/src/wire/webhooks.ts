import { Type, type Static, type TSchema } from 'typebox';
import { TimestampSchema, UuidSchema } from './common.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** A webhook endpoint as its organisation sees it; the secret is shown only when created or rotated. */
export const WebhookEndpointSchema = Type.Object(
  {
    id: UuidSchema,
    url: Type.String(),
    description: Nullable(Type.String()),
    events: Nullable(Type.Array(Type.String())),
    enabled: Type.Boolean(),
    disabled_reason: Nullable(Type.String()),
    disabled_at: Nullable(TimestampSchema),
    consecutive_failures: Type.Integer({ minimum: 0 }),
    failing_since: Nullable(TimestampSchema),
    previous_secret_expires_at: Nullable(TimestampSchema),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  },
  { additionalProperties: false },
);
export type WebhookEndpoint = Static<typeof WebhookEndpointSchema>;

/** POST /v1/webhooks: the endpoint and its signing secret, shown this once. */
export const WebhookEndpointCreatedSchema = Type.Object(
  { ...WebhookEndpointSchema.properties, secret: Type.String({ description: 'whsec_ followed by standard base64' }) },
  { additionalProperties: false },
);
export type WebhookEndpointCreated = Static<typeof WebhookEndpointCreatedSchema>;

export const WebhookEndpointListSchema = Type.Object({ data: Type.Array(WebhookEndpointSchema) }, { additionalProperties: false });
export type WebhookEndpointList = Static<typeof WebhookEndpointListSchema>;

/** POST /v1/webhooks/:id/rotate-secret. */
export const WebhookSecretRotatedSchema = Type.Object(
  { secret: Type.String(), previous_secret_expires_at: TimestampSchema },
  { additionalProperties: false },
);
export type WebhookSecretRotated = Static<typeof WebhookSecretRotatedSchema>;

export const WebhookAttemptSchema = Type.Object(
  {
    attempt: Type.Integer({ minimum: 1 }),
    started_at: TimestampSchema,
    status_code: Nullable(Type.Integer()),
    latency_ms: Type.Number(),
    error: Nullable(Type.String()),
  },
  { additionalProperties: false },
);

export const WebhookDeliverySchema = Type.Object(
  {
    id: UuidSchema,
    endpoint_id: UuidSchema,
    event_id: Type.String(),
    event_type: Type.String(),
    request_id: Nullable(UuidSchema),
    status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
    in_flight: Type.Boolean(),
    attempt_count: Type.Integer({ minimum: 0 }),
    next_attempt_at: Nullable(TimestampSchema),
    created_at: TimestampSchema,
    completed_at: Nullable(TimestampSchema),
    attempts: Type.Array(WebhookAttemptSchema),
  },
  { additionalProperties: false },
);
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>;

export const WebhookDeliveryListSchema = Type.Object(
  { data: Type.Array(WebhookDeliverySchema), next_cursor: Nullable(Type.String()) },
  { additionalProperties: false },
);
export type WebhookDeliveryList = Static<typeof WebhookDeliveryListSchema>;
