import { Type } from 'typebox';
import { FingerprintSchema, PublicKeySchema, TimestampSchema, UuidSchema } from '@sigilauth/protocol/wire';

export { FingerprintSchema as Fingerprint, PublicKeySchema as PublicKey, TimestampSchema as Timestamp, UuidSchema as Uuid };
export const Signature = Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$', description: '64-byte r||s, standard base64' });
export const IdParams = Type.Object({ id: UuidSchema }, { additionalProperties: false });
