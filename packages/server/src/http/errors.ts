import { errorStatus, type ErrorCode } from '@sigilauth/protocol';
import type { ErrorBody } from '@sigilauth/protocol/wire';

/** An error the client caused or must know about; becomes `{ error: { code, message, details? } }` with the code's status. */
export class ApiError extends Error {
  readonly statusCode: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.statusCode = errorStatus(code);
  }
}

export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);

/** An ApiError as data, so that a refusal crosses from the embedded store's thread intact (StoreProcedure). */
export interface Refusal {
  refused: { code: ErrorCode; message: string; details?: Record<string, unknown> };
}

/** The result of work, or the ApiError it threw as a Refusal; any other error is thrown. */
export async function refusalAsValue<T extends object>(work: Promise<T>): Promise<T | Refusal> {
  try {
    return await work;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return { refused: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
  }
}

/** The result, or its Refusal thrown as the ApiError it was. */
export function throwRefusal<T extends object>(result: T | Refusal): T {
  if (!('refused' in result)) return result;
  const { code, message, details } = result.refused;
  throw new ApiError(code, message, details);
}

/** `{ error: { code, message } }`. */
export const errorBody = (code: ErrorCode, message: string): ErrorBody => ({ error: { code, message } });
