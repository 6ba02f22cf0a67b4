import { createHash } from 'node:crypto';
import { SENT, type SendResult } from './plugin.js';

/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); `undefined` when absent or not
 * understood.
 */
export function retryAfterMs(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * The outcome of an HTTP answer (STYLE #9): 2xx ok; 408, 429 and 5xx retry (after `Retry-After` when given); any
 * other status drop. `detail` is the start of the body, kept as the reason.
 */
export async function httpResult(response: Response, what: string): Promise<SendResult> {
  if (response.ok) {
    await response.body?.cancel().catch(() => {});
    return SENT;
  }
  const status = response.status;
  const detail = (await response.text().catch(() => '')).slice(0, 500);
  const reason = `${what}: HTTP ${status}${detail ? ` ${detail}` : ''}`;
  if (status === 408 || status === 429 || status >= 500)
    return { kind: 'retry', reason, status, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
  return { kind: 'drop', reason, status };
}

/** A network error, timeout or abort as a retry (the receiver may never have seen the call). */
export function networkResult(e: unknown, what: string): SendResult {
  const message =
    e instanceof Error ? (e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : String(e);
  return { kind: 'retry', reason: `${what}: ${message}` };
}

/** `fetch` then `httpResult`, a thrown error becoming `networkResult`. */
export async function sendHttp(
  fetcher: typeof fetch,
  url: string,
  init: RequestInit,
  what: string,
): Promise<SendResult> {
  let response: Response;
  try {
    response = await fetcher(url, init);
  } catch (e) {
    return networkResult(e, what);
  }
  return httpResult(response, what);
}

/**
 * SHA-256 hex of an identifier in the normalised form ads and CRM APIs ask for (Google Customer Match, Meta,
 * LinkedIn): e-mail trimmed and lower-cased, phone in E.164 (as Tessera stores it) without spaces, other values
 * trimmed.
 */
export function hashIdentifier(type: 'email' | 'phone' | string, value: string): string {
  const v =
    type === 'email' ? value.trim().toLowerCase() : type === 'phone' ? value.replace(/[\s()-]/g, '') : value.trim();
  return createHash('sha256').update(v, 'utf8').digest('hex');
}
