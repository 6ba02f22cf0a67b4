import { type Kysely, sql } from 'kysely';
import type { SqlDialect } from '../dialect.js';
import { migrateToLatest } from '../migrate.js';
import type { Database } from '../schema.js';
import type { Storage, Stores } from '../storage.js';
import { createIdentityStore } from './identity-store.js';
import { createIngestLogStore, createProcessedMessageStore, createQuarantineStore } from './ingest-stores.js';
import { createChangeStore, createSettingsStore, createSourceStore, createTokenStore } from './other-stores.js';
import {
  createAccountStore,
  createConsentStore,
  createEventStore,
  createHistoryStore,
  createProfileStore,
} from './profile-stores.js';

/** The ports implemented once over Kysely, for any dialect. */
export function createStores(db: Kysely<Database>, d: SqlDialect): Stores {
  return {
    log: createIngestLogStore(db, d),
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

/** Builds a `Storage` over a Kysely instance. */
export function createKyselyStorage(db: Kysely<Database>, d: SqlDialect, close: () => Promise<void>): Storage {
  return {
    ...createStores(db, d),
    dialect: d,
    transaction: (fn) => db.transaction().execute((tx) => fn(createStores(tx, d))),
    migrate: () => migrateToLatest(db, d),
    close,
  };
}
