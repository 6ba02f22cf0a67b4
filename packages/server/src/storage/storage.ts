import type { AudienceStore, MembershipStore, RfmStore } from '../audiences/ports.js';
import type { AuditStore, UserStore } from '../auth/ports.js';
import type { ChangeStore } from '../bus/ports.js';
import type { DeliveryStore, DestinationStore, MessageStore } from '../destinations/ports.js';
import type { IdentityStore } from '../identity/ports.js';
import type { IngestLogStore, ProcessedMessageStore, QuarantineStore } from '../ingest/ports.js';
import type { ReadKeyStore } from '../personalize/ports.js';
import type { ErasureStore, PrivacyRequestStore, RetentionStore, SuppressionStore } from '../privacy/ports.js';
import type { AccountStore, ConsentStore, EventStore, HistoryStore, ProfileStore } from '../profiles/ports.js';
import type { JobStore } from '../scheduler/ports.js';
import type { SettingsStore } from '../settings/ports.js';
import type { SourceStore, TokenStore } from '../sources/ports.js';
import type { StatsStore } from '../stats/ports.js';
import type { SqlDialect } from './dialect.js';

/** Every storage port, bound to one connection or one transaction. */
export interface Stores {
  readonly log: IngestLogStore;
  readonly processed: ProcessedMessageStore;
  readonly quarantine: QuarantineStore;
  readonly identities: IdentityStore;
  readonly profiles: ProfileStore;
  readonly history: HistoryStore;
  readonly events: EventStore;
  readonly consents: ConsentStore;
  readonly accounts: AccountStore;
  readonly changes: ChangeStore;
  readonly sources: SourceStore;
  readonly tokens: TokenStore;
  readonly settings: SettingsStore;
  readonly jobs: JobStore;
  readonly audiences: AudienceStore;
  readonly memberships: MembershipStore;
  readonly rfm: RfmStore;
  readonly readKeys: ReadKeyStore;
  readonly destinations: DestinationStore;
  readonly deliveries: DeliveryStore;
  readonly messages: MessageStore;
  readonly privacyRequests: PrivacyRequestStore;
  readonly suppressions: SuppressionStore;
  readonly erasure: ErasureStore;
  readonly retention: RetentionStore;
  readonly users: UserStore;
  readonly audit: AuditStore;
  readonly stats: StatsStore;
  /**
   * Runs `fn` inside a savepoint of the current transaction: when it throws, its writes are rolled back and the
   * error rethrown, the transaction goes on. Only valid on the `Stores` handed to `transaction`.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * What a storage adapter returns (`createSqliteStorage`, `createPostgresStorage`): the ports, a transaction that
 * hands the same ports bound to it, migrations and close. Domain code sees only this.
 */
export interface Storage extends Stores {
  readonly dialect: SqlDialect;
  /**
   * Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. `write`: the transaction reads
   * then writes and runs beside the pipeline's connection (a management write in embedded mode): in SQLite it takes
   * the write lock at its start, waiting for a batch in flight like any management write.
   */
  transaction<T>(fn: (tx: Stores) => Promise<T>, opts?: { write?: boolean }): Promise<T>;
  /** Brings the schema to the latest migration. */
  migrate(): Promise<string[]>;
  /**
   * Leaves no deleted bytes in the store's files (an erasure): SQLite checkpoints its WAL files with TRUNCATE until
   * no other connection is busy; PostgreSQL has nothing to do here (its dead rows go at the next vacuum).
   */
  scrub?(attempts?: number): Promise<{ ok: boolean; attempts: number }>;
  close(): Promise<void>;
}
