/**
 * The web app talks only to Tessera's HTTP API, on the same origin, with the session cookie (HttpOnly: the app
 * never sees the token). Every error answer is `{"error": {"code", "message"}}` (docs/errors.md).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** `Retry-After` in seconds, when the server sent one. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** Called on any 401 (an expired or revoked session): the app goes back to the sign-in page. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, typed at the call sites that read them
export type Json = any;

export async function api<T = Json>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    if (res.status === 401 && path !== '/v1/sessions' && path !== '/v1/me') onUnauthorized();
    const retry = Number(res.headers.get('retry-after'));
    throw new ApiError(
      res.status,
      json?.error?.code ?? 'error',
      json?.error?.message ?? res.statusText,
      Number.isFinite(retry) && retry > 0 ? retry : undefined,
    );
  }
  return json as T;
}

export const get = <T = Json>(path: string) => api<T>('GET', path);

/** `?a=1&b=2` of the defined values. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
