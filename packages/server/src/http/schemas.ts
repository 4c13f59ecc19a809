import { Type } from 'typebox';
import { FingerprintSchema, UuidSchema } from '@sigilauth/protocol/wire';

// Route parameters shared by several routes; the wire schemas themselves are imported from @sigilauth/protocol/wire.
export const IdParams = Type.Object({ id: UuidSchema }, { additionalProperties: false });
export const FingerprintParams = Type.Object({ fingerprint: FingerprintSchema }, { additionalProperties: false });
