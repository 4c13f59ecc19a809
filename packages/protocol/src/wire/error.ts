import { Type, type Static } from 'typebox';
import { ERROR_CODES, type ErrorCode } from '../errors.js';

/** `error.code`: one of the catalogue's codes. */
export const ErrorCodeSchema = Type.Unsafe<ErrorCode>({ type: 'string', enum: [...ERROR_CODES] });

/** The body of every error answer, whatever the route and status. */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object(
      {
        code: ErrorCodeSchema,
        message: Type.String(),
        details: Type.Optional(
          Type.Record(Type.String(), Type.Unknown(), { description: 'structured facts, e.g. status or retry_after_seconds' }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, $id: 'ErrorBody', title: 'ErrorBody' },
);
export type ErrorBody = Static<typeof ErrorBodySchema>;
