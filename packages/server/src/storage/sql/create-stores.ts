import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import type { Storage, Stores } from '../storage.js';
import { createAuditStore, createTokenStore, createUserStore } from './access-stores.js';
import { createAudienceStore, createMembershipStore, createRfmStore } from './audience-stores.js';
import { createDeliveryStore, createMessageStore } from './delivery-stores.js';
import { createDestinationStore } from './destination-stores.js';
import { createErasureStore, createRetentionStore } from './erasure-stores.js';
import { createEventStore } from './event-store.js';
import { createIdentityStore } from './identity-store.js';
import { createIngestLogStore, createQuarantineStore } from './ingest-stores.js';
import { createChangeStore, createJobStore, createSettingsStore, createSourceStore } from './other-stores.js';
import { createPrivacyRequestStore, createSuppressionStore } from './privacy-stores.js';
import { createProcessedMessageStore } from './processed-store.js';
import { createAccountStore, createConsentStore, createHistoryStore, createProfileStore } from './profile-stores.js';
import { type DirectRunner, runDirectlyIn } from './raw.js';
import { createReadKeyStore } from './read-key-store.js';
import { createStatsStore } from './stats-store.js';

/**
 * The ports implemented once over Kysely, for any dialect. `logDb` holds the ingest log: the same database in
 * PostgreSQL, a file of its own in SQLite (so appends never wait for a pipeline transaction).
 */
export function createStores(db: Kysely<Database>, d: SqlDialect, logDb: Kysely<Database> = db): Stores {
  return {
    log: createIngestLogStore(logDb, db, d),
    processed: createProcessedMessageStore(db, d),
    quarantine: createQuarantineStore(db, d),
    identities: createIdentityStore(db, d),
    profiles: createProfileStore(db, d),
    history: createHistoryStore(db, d),
    events: createEventStore(db, d),
    consents: createConsentStore(db, d),
    accounts: createAccountStore(db),
    changes: createChangeStore(db, d),
    sources: createSourceStore(db),
    tokens: createTokenStore(db),
    settings: createSettingsStore(db),
    jobs: createJobStore(db, d),
    audiences: createAudienceStore(db, d),
    memberships: createMembershipStore(db, d),
    rfm: createRfmStore(db, d),
    readKeys: createReadKeyStore(db, d),
    destinations: createDestinationStore(db, d),
    deliveries: createDeliveryStore(db, d),
    messages: createMessageStore(db, d),
    privacyRequests: createPrivacyRequestStore(db, d),
    suppressions: createSuppressionStore(db, d),
    erasure: createErasureStore(db, d, logDb),
    retention: createRetentionStore(db, d, logDb),
    users: createUserStore(db),
    audit: createAuditStore(db, d),
    stats: createStatsStore(db, d),
    async savepoint(fn) {
      const name = `sp_${++savepoints}`;
      await sql.raw(`savepoint ${name}`).execute(db);
      try {
        const result = await fn();
        await sql.raw(`release savepoint ${name}`).execute(db);
        return result;
      } catch (e) {
        await sql.raw(`rollback to savepoint ${name}`).execute(db);
        await sql.raw(`release savepoint ${name}`).execute(db);
        throw e;
      }
    },
  };
}

let savepoints = 0;

/**
 * Builds a `Storage` over a Kysely instance (and, in SQLite, the log database's). `direct` runs a statement on the
 * one connection of an in-process database: inside a transaction, which holds that connection alone, the hot
 * statements go straight to it (see `runDirectlyIn`).
 */
export function createKyselyStorage(
  db: Kysely<Database>,
  d: SqlDialect,
  close: () => Promise<void>,
  logDb?: Kysely<Database>,
  direct?: DirectRunner,
): Storage {
  return {
    ...createStores(db, d, logDb),
    dialect: d,
    transaction: (fn, opts) => {
      const begin = opts?.write ? d.beginWriteSql : undefined;
      if (begin) return writeTransaction(db, begin, (tx) => fn(createStores(tx, d, logDb)), direct);
      return db.transaction().execute((tx) => {
        if (direct) runDirectlyIn(tx, direct);
        return fn(createStores(tx, d, logDb));
      });
    },
    async migrate() {
      if (!logDb) return migrateToLatest(db, d, 'all');
      return [...(await migrateToLatest(logDb, d, 'log')), ...(await migrateToLatest(db, d, 'main'))];
    },
    close,
  };
}

/**
 * A transaction opened with `begin` (the dialect's `beginWriteSql`) on one connection of `db`: Kysely's own
 * transactions always open with a plain `begin`.
 */
async function writeTransaction<T>(
  db: Kysely<Database>,
  begin: string,
  fn: (tx: Kysely<Database>) => Promise<T>,
  direct?: DirectRunner,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql.raw(begin).execute(conn);
    if (direct) runDirectlyIn(conn, direct);
    try {
      const result = await fn(conn);
      await sql.raw('commit').execute(conn);
      return result;
    } catch (e) {
      // SQLite may have rolled back already (a full disk…): the original error is the one to report.
      await sql
        .raw('rollback')
        .execute(conn)
        .catch(() => undefined);
      throw e;
    }
  });
}
