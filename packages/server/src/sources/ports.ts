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

/** API tokens (Bearer), stored as SHA-256. */
export interface TokenStore {
  create(row: TokenRow): Promise<void>;
  byHash(hash: string): Promise<TokenRow | undefined>;
  count(): Promise<number>;
}
