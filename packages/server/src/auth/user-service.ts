import { toPublicId, type UserCreate, type UserPatch } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import { newUuid } from '../ids.js';
import type { Storage } from '../storage/storage.js';
import type { LoginLimiter } from './login-limiter.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import type { UserRow } from './ports.js';
import type { Role } from './principal.js';
import type { TokenService } from './token-service.js';

/** A web-app session lasts 12 hours. */
export const SESSION_TTL_MS = 12 * 3_600_000;

const iso = (t: number) => new Date(t).toISOString();
export const normaliseEmail = (email: string) => email.trim().toLowerCase();

/** A user as the API shows it: never the password hash. */
export function userView(u: UserRow) {
  return {
    id: toPublicId('user', u.id),
    email: u.email,
    name: u.name,
    roles: u.roles,
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
    disabled: u.disabledAt !== null,
  };
}

/**
 * Users of the web app (DESIGN §8, docs/access-control.md): passwords as scrypt, sign-in with rate limiting, sessions
 * as tokens of kind `session` tied to the user. A password change, a role change or a disabled account ends the
 * user's sessions.
 */
export function createUserService(deps: {
  storage: Storage;
  tokens: TokenService;
  limiter: LoginLimiter;
  clock?: () => number;
  /** scrypt cost; tests lower it (the default is `passwords.ts`'s). */
  passwordCost?: { N: number; r: number; p: number };
}) {
  const { storage, tokens, limiter } = deps;
  const clock = deps.clock ?? Date.now;
  const hash = (password: string) => hashPassword(password, deps.passwordCost);
  /** E-mails whose sign-in is being verified now. */
  const verifying = new Set<string>();

  async function mustGet(id: string): Promise<UserRow> {
    const user = await storage.users.get(id);
    if (!user) throw new TesseraError('not_found', 'no such user');
    return user;
  }

  /** Refuses a change that would leave no enabled admin user (only when some admin user exists). */
  async function keepAnAdmin(id: string, after: { roles: Role[]; disabled: boolean }) {
    if (after.roles.includes('admin') && !after.disabled) return;
    const admins = (await storage.users.list()).filter((u) => u.roles.includes('admin') && u.disabledAt === null);
    if (admins.length === 1 && admins[0].id === id)
      throw new TesseraError('conflict', 'this is the last enabled admin user: make another admin first');
  }

  return {
    async create(input: UserCreate): Promise<UserRow> {
      const email = normaliseEmail(input.email);
      if (await storage.users.byEmail(email)) throw new TesseraError('conflict', 'a user with this e-mail exists');
      const now = clock();
      const user: UserRow = {
        id: newUuid(),
        email,
        name: input.name.trim(),
        passwordHash: await hash(input.password),
        roles: [...input.roles],
        createdAt: now,
        updatedAt: now,
        disabledAt: null,
      };
      try {
        await storage.users.create(user);
      } catch (e) {
        if (await storage.users.byEmail(email))
          throw new TesseraError('conflict', 'a user with this e-mail exists', { cause: e });
        throw e;
      }
      return user;
    },
    list: () => storage.users.list(),
    get: mustGet,
    async update(id: string, patch: UserPatch): Promise<UserRow> {
      const user = await mustGet(id);
      const roles = patch.roles ? [...patch.roles] : user.roles;
      const disabled = patch.disabled ?? user.disabledAt !== null;
      await keepAnAdmin(id, { roles, disabled });
      const now = clock();
      await storage.users.update(
        id,
        {
          ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
          ...(patch.roles !== undefined ? { roles } : {}),
          ...(patch.password !== undefined ? { passwordHash: await hash(patch.password) } : {}),
          ...(patch.disabled !== undefined ? { disabledAt: disabled ? (user.disabledAt ?? now) : null } : {}),
        },
        now,
      );
      // A new password or a disabled account ends everything the user holds (a stolen session may have minted
      // tokens); new roles end the sessions (their tokens are capped by the roles at each use anyway).
      const everything = patch.password !== undefined || patch.disabled === true;
      if (everything || patch.roles !== undefined)
        await storage.tokens.revokeSessionsOf(id, now, { apiTokensToo: everything });
      tokens.forgetUser(id);
      return mustGet(id);
    },
    /**
     * Signs a user in: a session token (12 h) holding the user's roles. A wrong e-mail and a wrong password answer
     * the same, after the same work; past the limiter's count, 429 before any work.
     */
    async signIn(emailInput: string, password: string, address: string) {
      const email = normaliseEmail(emailInput);
      const wait = limiter.retryAfter(email, address);
      if (wait > 0)
        throw new TesseraError('rate_limited', 'too many failed sign-ins; try again later', {
          retryAfter: Math.ceil(wait / 1000),
        });
      // One attempt per e-mail at a time: parallel guesses would all pass the count before any failure is recorded.
      if (verifying.has(email))
        throw new TesseraError('rate_limited', 'a sign-in for this e-mail is being checked', { retryAfter: 1 });
      verifying.add(email);
      let user: UserRow | undefined;
      let ok = false;
      try {
        user = await storage.users.byEmail(email);
        ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
      } finally {
        verifying.delete(email);
      }
      if (!user || !ok || user.disabledAt !== null) {
        limiter.failed(email, address);
        throw new TesseraError('unauthorized', 'wrong e-mail or password');
      }
      limiter.succeeded(email);
      const session = await tokens.create(`session ${user.email}`, user.roles, SESSION_TTL_MS, {
        userId: user.id,
        kind: 'session',
      });
      return { user, ...session, expiresAt: session.expiresAt as number };
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
