// "@sigilauth/protocol/wire": the TypeBox schemas of what crosses between a Sigil server and its
// clients, with their Static types. Runtime-neutral.
export { ErrorBodySchema, ErrorCodeSchema, type ErrorBody } from './error.js';
export { PictogramSchema, ServerInfoSchema, type Pictogram, type ServerInfo } from './info.js';
