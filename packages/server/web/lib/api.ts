import type { ErrorBody } from '@sigilauth/protocol/wire';
/** JSON over fetch; never throws on an HTTP error status. */
export interface ApiResult<T = any> {
  status: number;
  body: T;
}

/** An error answer; the client also makes one (code `network`, `bad_response`) when no usable answer came. */
type ApiErrorBody = {
  error?: Partial<Omit<ErrorBody['error'], 'code'>> & { code?: ErrorBody['error']['code'] | 'network' | 'bad_response' };
};

export async function request<T = any>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return {
      status: 0,
      body: { error: { code: 'network', message: 'The server could not be reached. Check your connection and try again.' } } as T,
    };
  }
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { error: { code: 'bad_response', message: `Unexpected answer from the server (HTTP ${res.status}).` } };
  }
  return { status: res.status, body: parsed as T };
}

export function errorMessage(result: ApiResult<unknown>, fallback = 'Something went wrong.'): string {
  return (result.body as ApiErrorBody | null)?.error?.message ?? fallback;
}

export function errorCode(result: ApiResult<unknown>): string | undefined {
  return (result.body as ApiErrorBody | null)?.error?.code;
}
