import type { Generated } from 'kysely';

/** A de-dup key's columns, in both levels (`processed_messages`, `processed_recent`). */
interface ProcessedKeyColumns {
  source_id: string;
  message_id: string;
  event_id: string | null;
  processed_at: number;
  batch_seq: number | null;
  log_position: number | null;
}

/**
 * Row types of every table, snake_case as in SQL (DESIGN §11). Timestamps are epoch milliseconds (integer in
 * SQLite, bigint in PostgreSQL, parsed to number); JSON columns are TEXT in SQLite and JSONB in PostgreSQL: write
 * them with `toJson`, read them with `fromJson` (`storage/sql/json.ts`). Booleans are 0 / 1 integers.
 * Ids are bare UUIDv7 strings.
 */
export interface Database {
  settings: { key: string; version: number; value: string; created_at: number; created_by: string };
  sources: {
    id: string;
    name: string;
    kind: string;
    write_key_hash: string;
    mapping: string | null;
    created_at: number;
    updated_at: number;
  };
  api_tokens: {
    id: string;
    name: string;
    token_hash: string;
    roles: string;
    created_at: number;
    expires_at: number | null;
    user_id: string | null;
    kind: string;
    revoked_at: number | null;
  };
  ingest_log: {
    position: Generated<number>;
    source_id: string;
    message_id: string;
    received_at: number;
    payload: string;
    rejection: string | null;
  };
  log_offsets: { consumer: string; position: number };
  processed_messages: ProcessedKeyColumns;
  /** Recent de-dup keys, appended without a unique index (migration `012-processed-recent`). */
  processed_recent: ProcessedKeyColumns & { seq: number; h: number };
  /** The merge in progress of `processed_recent` into `processed_messages`. */
  processed_merge: { id: number; upto: number; after_source: string | null; after_message: string | null };
  events: {
    id: string;
    log_position: number;
    source_id: string;
    type: string;
    name: string | null;
    message_id: string;
    profile_id: string;
    user_id: string | null;
    anonymous_id: string | null;
    timestamp: number;
    received_at: number;
    properties: string | null;
    traits: string | null;
    context: string | null;
  };
  quarantine: {
    id: string;
    source_id: string;
    received_at: number;
    code: string;
    reason: string;
    message_id: string | null;
    payload: string;
    status: string;
    log_position: number | null;
    replayed_at: number | null;
  };
  profiles: { id: string; created_at: number; updated_at: number; traits: string; trait_times: string };
  identities: {
    type: string;
    value: string;
    profile_id: string;
    source_id: string;
    event_id: string | null;
    first_seen_at: number;
    created_at: number;
  };
  profile_redirects: { from_id: string; to_id: string; merged_at: number; valid_at: number };
  merges: {
    id: string;
    survivor_id: string;
    merged_id: string;
    merged_at: number;
    valid_at: number;
    rule: string;
    evidence: string;
    event_id: string | null;
    settings_version: number;
  };
  identity_decisions: {
    id: string;
    profile_id: string | null;
    event_id: string | null;
    kind: string;
    identifier_type: string | null;
    identifier_value: string | null;
    reason: string;
    evidence: string;
    settings_version: number;
    created_at: number;
  };
  identity_review: {
    id: string;
    kind: string;
    status: string;
    reason: string;
    evidence: string;
    profile_id: string | null;
    created_at: number;
    decided_at: number | null;
    decided_by: string | null;
  };
  unmerges: {
    id: string;
    survivor_id: string;
    profile_id: string;
    merge_id: string;
    unmerged_at: number;
    reason: string;
    decided_by: string;
    settings_version: number;
    evidence: string;
  };
  match_decisions: {
    id: string;
    profile_id: string;
    other_id: string;
    decision: string;
    origin: string;
    ref_id: string | null;
    decided_at: number;
    decided_by: string;
  };
  trait_history: {
    id: string;
    profile_id: string;
    trait: string;
    value: string;
    valid_from: number;
    valid_to: number | null;
    recorded_at: number;
    superseded_at: number | null;
    source_id: string;
    event_id: string | null;
  };
  consents: {
    id: string;
    profile_id: string;
    purpose: string;
    granted: number;
    legal_basis: string;
    valid_from: number;
    recorded_at: number;
    superseded_at: number | null;
    source_id: string;
    event_id: string | null;
  };
  accounts: { id: string; group_id: string; traits: string; created_at: number; updated_at: number };
  profile_accounts: { profile_id: string; account_id: string; source_id: string; created_at: number };
  changes: {
    seq: Generated<number>;
    id: string;
    kind: string;
    profile_id: string;
    payload: string;
    created_at: number;
  };
  change_offsets: { consumer: string; seq: number };
  job_runs: { name: string; last_run_at: number; run_by: string };
  audiences: {
    key: string;
    name: string;
    description: string | null;
    definition: string;
    version: number;
    created_at: number;
    created_by: string;
    updated_at: number;
    updated_by: string;
    deleted_at: number | null;
    recompute_requested_at: number | null;
    computed_at: number | null;
    computed_version: number | null;
  };
  audience_versions: {
    key: string;
    version: number;
    name: string;
    description: string | null;
    definition: string;
    deleted: number;
    created_at: number;
    created_by: string;
  };
  audience_memberships: {
    id: string;
    audience_key: string;
    profile_id: string;
    entered_at: number;
    exited_at: number | null;
    entered_version: number;
    exited_version: number | null;
    exit_reason: string | null;
  };
  audience_rechecks: { profile_id: string; due_at: number };
  rfm_scores: {
    profile_id: string;
    last_at: number;
    frequency: number;
    monetary: number;
    r: number;
    f: number;
    m: number;
    segment: string;
    computed_at: number;
    settings_version: number;
  };
  source_read_keys: {
    source_id: string;
    key_hash: string;
    origins: string;
    traits: string;
    audiences: string;
    created_at: number;
    updated_at: number;
    updated_by: string;
  };
  destinations: {
    id: string;
    name: string;
    type: string;
    config: string;
    subscription: string;
    purpose: string | null;
    channel: string | null;
    enabled: number;
    rate_per_second: number | null;
    max_retry_hours: number;
    version: number;
    created_at: number;
    created_by: string;
    updated_at: number;
    updated_by: string;
    deleted_at: number | null;
  };
  destination_versions: {
    destination_id: string;
    version: number;
    name: string;
    type: string;
    config: string;
    subscription: string;
    purpose: string | null;
    channel: string | null;
    enabled: number;
    rate_per_second: number | null;
    max_retry_hours: number;
    deleted: number;
    created_at: number;
    created_by: string;
  };
  deliveries: {
    profile_id: string;
    id: string;
    destination_id: string;
    change_id: string;
    kind: string;
    payload: string;
    status: string;
    reason: string | null;
    sync_key: string | null;
    attempts: number;
    next_attempt_at: number;
    leased_until: number | null;
    last_status: number | null;
    created_at: number;
    updated_at: number;
    finished_at: number | null;
  };
  destination_limits: { destination_id: string; tokens: number; updated_at: number };
  messages: {
    profile_id: string;
    id: string;
    channel: string;
    at: number;
    destination_id: string | null;
    delivery_id: string | null;
    origin: string;
  };
  privacy_requests: {
    id: string;
    type: string;
    identifier_type: string;
    identifier_hash: string;
    status: string;
    created_at: number;
    created_by: string;
    completed_at: number | null;
    profile_count: number;
    proof: string | null;
    error: string | null;
  };
  suppressions: { hash: string; created_at: number; request_id: string };
  users: {
    id: string;
    email: string;
    name: string;
    password_hash: string;
    roles: string;
    created_at: number;
    updated_at: number;
    disabled_at: number | null;
  };
  audit_log: {
    id: string;
    at: number;
    actor: string;
    action: string;
    route: string;
    status: number;
    profile_id: string | null;
    target: string | null;
  };
}

export type TableName = keyof Database;

/**
 * Tables holding data about a person: each carries `profile_id` (or, for `ingest_log` and `processed_messages`,
 * is reached through `events`). Privacy erasure walks this list; a test fails when a table with a `profile_id`
 * column is missing from it.
 */
export const PERSON_OWNED_TABLES = [
  'events',
  'quarantine',
  'profiles',
  'identities',
  'profile_redirects',
  'merges',
  'identity_decisions',
  'identity_review',
  'unmerges',
  'match_decisions',
  'trait_history',
  'consents',
  'profile_accounts',
  'changes',
  'ingest_log',
  'processed_messages',
  'audience_memberships',
  'audience_rechecks',
  'rfm_scores',
  'deliveries',
  'messages',
  'audit_log',
] as const satisfies readonly TableName[];

/** A table holding data about a person. */
export type PersonOwnedTable = (typeof PERSON_OWNED_TABLES)[number];
