export type SourceKind = 'tracking' | 'webhook' | 'import';

export interface SourceRow {
  id: string;
  name: string;
  kind: SourceKind;
  writeKeyHash: string;
  mapping: unknown | null;
  createdAt: number;
  updatedAt: number;
}

export interface TokenRow {
  id: string;
  name: string;
  tokenHash: string;
  roles: string[];
  createdAt: number;
  /** After this time (ms) the token is refused; null: never. */
  expiresAt: number | null;
  /** The user it acts for (a session, or a user's own token): its roles are capped by the user's current ones. */
  userId: string | null;
  /** `session`: a web-app sign-in; `api`: a token for scripts and tools. */
  kind: 'api' | 'session';
  revokedAt: number | null;
}

/** Sources and their hashed write keys. */
export interface SourceStore {
  create(row: SourceRow): Promise<void>;
  list(): Promise<SourceRow[]>;
  get(id: string): Promise<SourceRow | undefined>;
  byName(name: string): Promise<SourceRow | undefined>;
  byKeyHash(hash: string): Promise<SourceRow | undefined>;
  setKeyHash(id: string, hash: string, at: number): Promise<void>;
  setMapping(id: string, mapping: unknown, at: number): Promise<void>;
}

/** API tokens (Bearer) and sessions, stored as SHA-256. */
export interface TokenStore {
  create(row: TokenRow): Promise<void>;
  byHash(hash: string): Promise<TokenRow | undefined>;
  get(id: string): Promise<TokenRow | undefined>;
  /** Tokens of kind `api` (never sessions), newest first; of one user when `userId` is given. */
  list(opts: { userId?: string }): Promise<TokenRow[]>;
  /** Marks a token revoked; answers whether it was live. */
  revoke(id: string, at: number): Promise<boolean>;
  /** Revokes the sessions of a user (new roles), or every token of theirs too (a new password, a disabled account). */
  revokeSessionsOf(userId: string, at: number, opts?: { apiTokensToo?: boolean }): Promise<number>;
  count(): Promise<number>;
}
