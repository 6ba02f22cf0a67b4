import type { Database, TableName } from './schema.js';

/**
 * Colocation groups of the Citus plan (DESIGN §11, `docs/scaling.md`). Tables of one group are hashed on
 * distribution columns of the same type into the same shards, so the rows of one key sit on one node and a join or
 * transaction on that key stays there. `profile`: every row written under one profile id. `identifier`: the identity
 * graph, by identifier value. `message`: the de-duplication keys, by message id. `quarantine`: rejected calls,
 * which have no profile.
 */
export type ColocationGroup = 'profile' | 'identifier' | 'message' | 'quarantine';

/**
 * The role of one table in a Citus cluster:
 * - `distributed`: hash-sharded on `column`. Every primary key and unique constraint of the table includes
 *   `column`, the column is `not null`, and no statement updates it (Citus refuses both a NULL and a change of the
 *   distribution value).
 * - `reference`: one shard copied to every node; small tables read from everywhere.
 * - `local`: a plain table on the coordinator, not used by cluster mode (JetStream holds that state there).
 *
 * `why` states the reason in a sentence; `docs/scaling.md` explains the plan as a whole.
 */
export type CitusRole<C extends string = string> =
  | {
      readonly kind: 'distributed';
      readonly column: C;
      readonly colocation: ColocationGroup;
      readonly why: string;
    }
  | { readonly kind: 'reference'; readonly why: string }
  | { readonly kind: 'local'; readonly why: string };

/** The plan for every table of `Database`: a table added to the schema without a role does not compile. */
export type CitusPlan = { readonly [T in TableName]: CitusRole<keyof Database[T] & string> };

/**
 * The Citus plan of every table the migrations create. Order matters to `citusStatements`: reference tables first,
 * and each colocation group's first table is its anchor (`profiles` for the `profile` group).
 * `storage/citus-plan.test.ts` checks it against the migrated schema and the SQL in `storage/sql/`.
 */
export const CITUS_PLAN: CitusPlan = {
  settings: { kind: 'reference', why: 'Versioned business settings: few rows, read by every node (DESIGN §11).' },
  sources: { kind: 'reference', why: 'Read by every api node to check write keys (DESIGN §11).' },
  api_tokens: { kind: 'reference', why: 'Read by every api node to check Bearer tokens; few rows.' },
  accounts: {
    kind: 'reference',
    why: 'B2B accounts: far fewer than profiles, joined to profile_accounts on every profile read, written only by group calls; group_id must stay globally unique.',
  },
  ingest_log: {
    kind: 'local',
    why: 'In cluster mode the raw log is a JetStream stream (R3); the table stays empty on the coordinator. Its rows carry no profile id: they are written before identity resolution.',
  },
  log_offsets: {
    kind: 'local',
    why: 'In cluster mode a pipeline worker is a JetStream consumer: its position is the consumer ack state.',
  },
  change_offsets: {
    kind: 'local',
    why: 'In cluster mode change-bus consumers are JetStream consumers, with their own ack state.',
  },
  job_runs: {
    kind: 'reference',
    why: 'One row per scheduled job, claimed by whichever scheduler node runs it; read and written rarely.',
  },
  profiles: { kind: 'distributed', column: 'id', colocation: 'profile', why: 'The profile row, by its own id.' },
  events: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the profile id at processing time, never rewritten (DESIGN §11).',
  },
  profile_redirects: {
    kind: 'distributed',
    column: 'from_id',
    colocation: 'profile',
    why: 'By the merged profile it is written for; to_id is updated when chains are flattened, so it cannot be the key.',
  },
  merges: {
    kind: 'distributed',
    column: 'survivor_id',
    colocation: 'profile',
    why: 'By the survivor: the profile the merging event resolved to.',
  },
  identity_decisions: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the profile the event resolved to.',
  },
  identity_review: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the profile the event resolved to.',
  },
  unmerges: {
    kind: 'distributed',
    column: 'survivor_id',
    colocation: 'profile',
    why: 'By the survivor of the merge it undoes, beside that merge row.',
  },
  match_decisions: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'One row per side of the pair, each by its own profile id, so a look-up by profile stays on one shard.',
  },
  trait_history: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the profile the value was observed on.',
  },
  consents: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the profile the consent was captured on.',
  },
  profile_accounts: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the linked profile; accounts is a reference table, so the join stays on the node.',
  },
  changes: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'The outbox row commits on the same shard as the effects it announces.',
  },
  audiences: {
    kind: 'reference',
    why: 'Audience definitions: few rows, read by every worker on every batch and by the scheduler.',
  },
  audience_versions: {
    kind: 'reference',
    why: 'Every saved version of an audience definition; few rows, rarely read.',
  },
  source_read_keys: {
    kind: 'reference',
    why: 'Read keys of the personalisation endpoint and what they may read: few rows, checked by every api node.',
  },
  privacy_requests: {
    kind: 'reference',
    why: 'Data-subject requests: few rows, no personal data (the identifier is kept as its HMAC only).',
  },
  users: { kind: 'reference', why: 'People who sign in: few rows, checked by every api node at sign-in.' },
  audit_log: {
    kind: 'reference',
    why: 'Staff reads and changes: written by api nodes in group commits, read by the DPO; no distribution key.',
  },
  suppressions: {
    kind: 'reference',
    why: 'HMACs of erased identifiers, checked by every api node before the log append and by every worker.',
  },
  destinations: {
    kind: 'reference',
    why: 'Configured destinations: few rows, read by every worker that routes or delivers.',
  },
  destination_versions: { kind: 'reference', why: 'Each saved version of a destination: few rows.' },
  destination_limits: {
    kind: 'reference',
    why: 'One token bucket per rate-limited destination, shared by every worker; written once per claimed batch.',
  },
  deliveries: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the profile a message is about: routed beside its events; a worker claims due rows across shards.',
  },
  messages: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the person messaged: the pressure caps count and reserve one person at a time.',
  },
  audience_memberships: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the member profile: written in the batch that evaluates it, beside its events and outbox rows.',
  },
  rfm_scores: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the scored profile; rewritten as a whole by the rfm job, read beside the profile.',
  },
  audience_rechecks: {
    kind: 'distributed',
    column: 'profile_id',
    colocation: 'profile',
    why: 'By the profile to re-check, written with its memberships.',
  },
  identities: {
    kind: 'distributed',
    column: 'value',
    colocation: 'identifier',
    why: 'DESIGN §11 says by (type, value); Citus hashes one column, so the shard key is value and every key and look-up carries both.',
  },
  processed_messages: {
    kind: 'distributed',
    column: 'message_id',
    colocation: 'message',
    why: 'By message id (DESIGN §11): the de-dup look-up of a batch routes by the ids it holds.',
  },
  processed_recent: {
    kind: 'local',
    why: "The embedded pipeline's recent de-dup keys; cluster mode writes processed_messages only, and here holds at most the keys a `tessera copy` brought (under 100,000 rows), read by the de-dup look-ups.",
  },
  processed_merge: {
    kind: 'local',
    why: "The embedded pipeline's merge of processed_recent into processed_messages; cluster mode does not merge.",
  },
  quarantine: {
    kind: 'distributed',
    column: 'id',
    colocation: 'quarantine',
    why: 'A quarantined call was never resolved, so it has no profile id; its own id spreads the rows and needs no key change.',
  },
};

/** Kysely's migration bookkeeping, created by the migrator beside the tables (`storage/migrate.ts`). */
export const MIGRATOR_TABLES: Readonly<Record<string, CitusRole>> = {
  kysely_migration: { kind: 'local', why: 'Migration bookkeeping: only `tessera migrate`, on the coordinator.' },
  kysely_migration_lock: { kind: 'local', why: 'Migration bookkeeping: only `tessera migrate`, on the coordinator.' },
};

/** The role of a table of the schema or of the migrator, or `undefined` for a table the plan does not know. */
export function citusRoleOf(table: string): CitusRole | undefined {
  return Object.hasOwn(CITUS_PLAN, table) ? CITUS_PLAN[table as TableName] : MIGRATOR_TABLES[table];
}

/**
 * The Citus calls that apply the plan to a migrated PostgreSQL database, in order: reference tables, then each
 * colocation group, its anchor first. Local tables need none.
 */
export function citusStatements(plan: CitusPlan = CITUS_PLAN): string[] {
  const out: string[] = [];
  const anchors = new Map<ColocationGroup, string>();
  const entries = Object.entries(plan) as [TableName, CitusRole][];
  for (const [table, role] of entries) {
    if (role.kind === 'reference') out.push(`select create_reference_table('${table}')`);
  }
  for (const [table, role] of entries) {
    if (role.kind !== 'distributed') continue;
    const anchor = anchors.get(role.colocation);
    if (!anchor) anchors.set(role.colocation, table);
    out.push(`select create_distributed_table('${table}', '${role.column}', colocate_with => '${anchor ?? 'none'}')`);
  }
  return out;
}
