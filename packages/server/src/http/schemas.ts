import { Type } from 'typebox';

export const Uuid = Type.String({ format: 'uuid' });
export const Fingerprint = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'lower-case hex SHA-256 of the compressed public key' });
export const PublicKey = Type.String({ pattern: '^A[A-Za-z0-9+/]{43}$', description: '33-byte compressed P-256 point, standard base64' });
export const Signature = Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$', description: '64-byte r||s, standard base64' });
export const Timestamp = Type.String({ format: 'date-time' });
export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });
