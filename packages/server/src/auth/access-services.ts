import type { Logger } from '../logger.js';
import { createPiiClassification } from '../privacy/pii.js';
import type { Storage } from '../storage/storage.js';
import { type AuditAppend, createAuditLog } from './audit-log.js';
import { createLoginLimiter } from './login-limiter.js';
import { createTokenService } from './token-service.js';
import { createUserService } from './user-service.js';

/** Who may do what, and what they did: tokens, users and sign-in, the audit log, the PII classification. */
export async function createAccessServices(
  storage: Storage,
  logger: Logger,
  opts: { passwordCost?: { N: number; r: number; p: number }; appendAudit?: AuditAppend } = {},
) {
  const tokens = createTokenService(storage);
  const users = createUserService({
    storage,
    tokens,
    limiter: createLoginLimiter(),
    passwordCost: opts.passwordCost,
  });
  const audit = createAuditLog({ storage, logger, append: opts.appendAudit });
  const pii = createPiiClassification(storage);
  await pii.load();
  return { tokens, users, audit, pii };
}

export type AccessServices = Awaited<ReturnType<typeof createAccessServices>>;
