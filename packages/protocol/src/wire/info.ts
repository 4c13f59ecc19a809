import { Type, type Static } from 'typebox';
import { Sha256HexSchema } from './common.js';

export const PictogramSchema = Type.Object(
  {
    emoji: Type.Array(Type.String(), { minItems: 5, maxItems: 5 }),
    names: Type.Array(Type.String(), { minItems: 5, maxItems: 5 }),
    text: Type.String({ description: 'the five emoji separated by spaces, e.g. "🐶 🔑 🚀 🌵 🎸"' }),
  },
  { additionalProperties: false },
);
export type Pictogram = Static<typeof PictogramSchema>;

/** GET /v1/info: who the server is. A device pins server_public_key when it pairs. */
export const ServerInfoSchema = Type.Object(
  {
    server_id: Sha256HexSchema('SHA-256 fingerprint of server_public_key'),
    server_public_key: Type.String({ description: '33-byte compressed P-256 point, standard base64' }),
    pictogram: PictogramSchema,
    org_name: Type.Union([Type.String(), Type.Null()], {
      description: "the API key's organisation; without a key, the server's when it serves one, null when it serves several",
    }),
    version: Type.String(),
  },
  { additionalProperties: false },
);
export type ServerInfo = Static<typeof ServerInfoSchema>;
