import { Type, type TString, type TStringOptions } from 'typebox';

/** Building blocks of the wire schemas. */

/** The schema keyword that states a string pattern's rule in words; the server's validation errors quote it. */
export const PATTERN_RULE = 'x-rule';

/** A string that must match `pattern`; `rule` says the same in words, for whoever sent one that does not. */
export const PatternString = (pattern: string, rule: `must ${string}`, options: TStringOptions = {}): TString =>
  Type.String({ ...options, pattern, [PATTERN_RULE]: rule });

/** 64 lower-case hex characters: a SHA-256 digest. */
export const Sha256HexSchema = (description?: string): TString =>
  PatternString('^[0-9a-f]{64}$', 'must be 64 lower-case hexadecimal characters', description ? { description } : {});

/** Base64url without padding, as WebAuthn encodes its binary fields. */
export const Base64UrlSchema = (maxLength: number, description?: string): TString =>
  PatternString('^[A-Za-z0-9_-]+$', "must be base64url without padding: letters, digits, '-' and '_'", {
    minLength: 1,
    maxLength,
    ...(description ? { description } : {}),
  });

/** Text that is not blank (a name, a reason): at least one character other than white space. */
export const NotBlank = (maxLength: number): TString =>
  PatternString('\\S', 'must contain a character other than white space', { minLength: 1, maxLength });

export const UuidSchema = Type.String({ format: 'uuid' });
export const FingerprintSchema = PatternString('^[0-9a-f]{64}$', 'must be a device fingerprint: 64 lower-case hexadecimal characters', {
  description: 'lower-case hex SHA-256 of the compressed public key',
});
export const PublicKeySchema = PatternString(
  '^A[A-Za-z0-9+/]{43}$',
  'must be a compressed P-256 public key: 44 characters of standard base64, starting with A',
  { description: '33-byte compressed P-256 point, standard base64' },
);
export const SignatureSchema = PatternString(
  '^[A-Za-z0-9+/]{86}==$',
  "must be a 64-byte signature in standard base64: 88 characters ending in '=='",
  { description: '64-byte r||s, standard base64' },
);
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
