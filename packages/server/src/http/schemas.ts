import { Type } from 'typebox';
import { FingerprintSchema, PatternString, UuidSchema } from '@sigilauth/protocol/wire';

// Route parameters shared by several routes; the wire schemas themselves are imported from @sigilauth/protocol/wire.
export const IdParams = Type.Object({ id: UuidSchema }, { additionalProperties: false });
export const FingerprintParams = Type.Object({ fingerprint: FingerprintSchema }, { additionalProperties: false });

/** A list's `limit` query parameter: 1 to `max` (a power of ten), `fallback` when absent. */
export const PageLimit = (max: 100 | 1000, fallback: number) =>
  PatternString(`^(?:[1-9][0-9]{0,${String(max).length - 2}}|${max})$`, `must be a whole number from 1 to ${max}`, {
    description: `1-${max}, default ${fallback}`,
  });

/** A list's `cursor` query parameter, as an earlier page's `next_cursor` gave it. */
export const PageCursor = (pattern: string) => PatternString(pattern, "must be an earlier page's next_cursor, unchanged");
