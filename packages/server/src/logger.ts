import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * The process logger. Logs carry ids and codes, never payloads or PII (DESIGN §8): the redact list is a safety net
 * for the field names that could hold them, not a licence to log objects wholesale.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          'writeKey',
          'token',
          'password',
          'payload',
          'body',
          'traits',
          'properties',
          'email',
          'phone',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}

/**
 * What a log line may say of an error: its name and code (SQLSTATE, errno, NATS code). Never its message: a
 * database error's message can quote the value that failed (an e-mail, a payload).
 */
export function errorFields(e: unknown): { name: string; code?: string } {
  const code = (e as { code?: unknown } | null)?.code;
  return {
    name: e instanceof Error ? e.name : typeof e,
    ...(code !== undefined ? { code: String(code) } : {}),
  };
}
