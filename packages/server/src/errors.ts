import { ERROR_CODES, type ErrorCode } from '@tessera/protocol';

/**
 * The one error class of Tessera (STYLE #8). `code` is from the closed list in `@tessera/protocol`;
 * the HTTP layer maps it to a status with `statusOf`. Anything else thrown is a bug and becomes a generic 500.
 */
export class TesseraError extends Error {
  readonly code: ErrorCode;
  /** Seconds a client should wait before retrying (429 / 503). */
  readonly retryAfter: number | undefined;
  /** Extra, safe-to-show detail (never a payload or PII). */
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { retryAfter?: number; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'TesseraError';
    this.code = code;
    this.retryAfter = opts.retryAfter;
    this.details = opts.details;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }
}

export function isTesseraError(e: unknown): e is TesseraError {
  return e instanceof TesseraError;
}

/** HTTP status for an error code. */
export function statusOf(code: ErrorCode): number {
  return ERROR_CODES[code];
}
