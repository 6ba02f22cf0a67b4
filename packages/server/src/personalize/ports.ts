/** The read key of a source and what it may read (`source_read_keys`). */
export interface ReadKeyRow {
  sourceId: string;
  /** SHA-256 of the key (`hashSecret`); the key itself is shown once. */
  keyHash: string;
  /** Origins (`https://shop.example`) a browser may call from; a call with another `Origin` is refused. */
  origins: string[];
  /** Trait keys answered (top-level keys of the golden record). */
  traits: string[];
  /** Audience keys answered (the profile's open stays among them). */
  audiences: string[];
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
}

/** Read keys of the personalisation endpoint, one per source. */
export interface ReadKeyStore {
  get(sourceId: string): Promise<ReadKeyRow | undefined>;
  byHash(keyHash: string): Promise<ReadKeyRow | undefined>;
  list(): Promise<ReadKeyRow[]>;
  /** Creates or replaces the source's row. */
  save(row: ReadKeyRow): Promise<void>;
}
