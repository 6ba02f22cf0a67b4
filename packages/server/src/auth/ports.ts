import type { Role } from './principal.js';

/** A person who signs in to the web app. */
export interface UserRow {
  id: string;
  /** Lower-cased, trimmed: the sign-in name. */
  email: string;
  name: string;
  /** `scrypt$N$r$p$salt$hash` (`auth/passwords.ts`). */
  passwordHash: string;
  roles: Role[];
  createdAt: number;
  updatedAt: number;
  /** Set: the user can no longer sign in, and their sessions and tokens stop working. */
  disabledAt: number | null;
}

export interface UserStore {
  /** Throws on a duplicate e-mail (unique index). */
  create(row: UserRow): Promise<void>;
  get(id: string): Promise<UserRow | undefined>;
  byEmail(email: string): Promise<UserRow | undefined>;
  list(): Promise<UserRow[]>;
  update(
    id: string,
    patch: Partial<Pick<UserRow, 'name' | 'roles' | 'passwordHash' | 'disabledAt'>>,
    at: number,
  ): Promise<void>;
  count(): Promise<number>;
}

/** One audited action: a read of a profile by a person, or a management change (`auth/audit-log.ts`). */
export interface AuditEntry {
  id: string;
  at: number;
  /** `usr_…`, `tok_…`: who acted (`actorOf`). */
  actor: string;
  /** `profile.read`, or the change's method and route (`PUT /v1/settings/retention`). */
  action: string;
  /** The route template, never the URL (a URL may carry an identifier). */
  route: string;
  status: number;
  /** The profile read, when the action is one. */
  profileId: string | null;
  /** The route's path parameters, ids only, as `key=value&…` (never an identifier value). */
  target: string | null;
}

export interface AuditStore {
  append(rows: readonly AuditEntry[]): Promise<void>;
  /** Blanks the profile and target of the entries naming one of `profileIds` (an erasure); answers how many. */
  forgetProfiles(profileIds: readonly string[]): Promise<number>;
  /** Newest first, after `before` (a keyset cursor). */
  list(opts: {
    limit: number;
    before?: { at: number; id: string };
    actor?: string;
    profileId?: string;
    action?: string;
    since?: number;
  }): Promise<AuditEntry[]>;
}
