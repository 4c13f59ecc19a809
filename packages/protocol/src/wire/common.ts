import { Type } from 'typebox';

/** Building blocks of the wire schemas. */
export const UuidSchema = Type.String({ format: 'uuid' });
export const FingerprintSchema = Type.String({
  pattern: '^[0-9a-f]{64}$',
  description: 'lower-case hex SHA-256 of the compressed public key',
});
export const PublicKeySchema = Type.String({
  pattern: '^A[A-Za-z0-9+/]{43}$',
  description: '33-byte compressed P-256 point, standard base64',
});
export const SignatureSchema = Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$', description: '64-byte r||s, standard base64' });
export const TimestampSchema = Type.String({ format: 'date-time' });
export const MpaStatusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('approved'),
  Type.Literal('rejected'),
  Type.Literal('timeout'),
  Type.Literal('cancelled'),
]);
export const DecisionSchema = Type.Union([Type.Literal('approve'), Type.Literal('deny')]);
export const ParamValueSchema = Type.Union([Type.String(), Type.Number(), Type.Boolean()]);
export const ActionSchema = Type.Object(
  { type: Type.String(), description: Type.String(), params: Type.Record(Type.String(), ParamValueSchema) },
  { additionalProperties: false },
);
