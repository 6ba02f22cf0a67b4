import type { DeliveryMessage, MessageChannel, Subscription } from '@tessera/protocol';

/** A configured destination (`destinations`); ids are bare UUIDs. */
export interface DestinationRow {
  id: string;
  name: string;
  /** The plugin's type (`webhook`, `brevo`, …). */
  type: string;
  /** Validated against the plugin's config schema; secrets included (never returned by the API). */
  config: Record<string, unknown>;
  subscription: Subscription;
  /** The consent purpose a person must have granted to be sent; `null`: no consent check. */
  purpose: string | null;
  /** The message channel when the destination sends e-mail, SMS or push (marketing pressure applies). */
  channel: MessageChannel | null;
  enabled: boolean;
  /** Sends per second at most, shared by every worker; `null`: unlimited. */
  ratePerSecond: number | null;
  /** How long a message is retried before it is dead-lettered. */
  maxRetryHours: number;
  version: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  updatedBy: string;
  deletedAt: number | null;
}

export type DestinationVersionRow = Omit<DestinationRow, 'id' | 'updatedAt' | 'updatedBy' | 'deletedAt'> & {
  destinationId: string;
  deleted: boolean;
};

/** Destinations and their token buckets. */
export interface DestinationStore {
  /** Live destinations (not deleted), oldest first; with `deleted`, every one. */
  list(opts?: { deleted?: boolean }): Promise<DestinationRow[]>;
  get(id: string): Promise<DestinationRow | undefined>;
  /** Writes the row as it is (insert or replace) and its version row. */
  save(row: DestinationRow): Promise<void>;
  versions(id: string): Promise<DestinationVersionRow[]>;
  /**
   * Takes up to `want` tokens from the destination's bucket (refilled at `ratePerSecond`, holding at most `burst`)
   * at `now`; returns how many it took. A negative `want` puts tokens back. Shared by every worker: call inside a
   * transaction.
   */
  takeTokens(destinationId: string, want: number, ratePerSecond: number, burst: number, now: number): Promise<number>;
}

/**
 * `pending`: waits for its next attempt (or is in flight while `leasedUntil` is ahead); `delivered`; `dead`: in the
 * dead-letter queue (a permanent refusal, or retried past the destination's limit); `skipped`: never sent (no
 * consent, over the pressure cap with the `drop` policy, superseded by a later state of the same list membership).
 */
export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'skipped';

/** One message routed to one destination: its outbox row, DLQ entry and log line. */
export interface DeliveryRow {
  id: string;
  profileId: string;
  destinationId: string;
  changeId: string;
  kind: DeliveryMessage['kind'];
  payload: DeliveryMessage;
  status: DeliveryStatus;
  /** Why it is skipped or dead, or the last failure of a pending one. */
  reason: string | null;
  /** Rows with the same key replace each other while pending (an audience membership: the latest state wins). */
  syncKey: string | null;
  attempts: number;
  nextAttemptAt: number;
  leasedUntil: number | null;
  /** The last HTTP status (or none). */
  lastStatus: number | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** How a claimed delivery ends its attempt. */
export interface DeliverySettlement {
  profileId: string;
  id: string;
  /** The lease the claim set: a settlement whose lease was taken over by another worker changes nothing. */
  lease: number;
  status: DeliveryStatus;
  reason: string | null;
  lastStatus: number | null;
  /** +1 for a send that was tried; 0 for a message held back before sending (pressure). */
  attempted: 0 | 1;
  /** The next attempt of a row left pending; `null` keeps the stored one. */
  nextAttemptAt: number | null;
  finishedAt: number | null;
  at: number;
}

export interface DeliveryQuery {
  status?: DeliveryStatus;
  limit: number;
  /** Continue strictly before this (createdAt, id), newest first. */
  before?: { createdAt: number; id: string };
}

export interface DeliveryStore {
  /**
   * Adds routed messages. A row whose id exists is left as it is (routing a change twice writes one row); a row
   * written now makes the pending (not in flight) rows of the same destination and `syncKey` `skipped`
   * (`superseded`). Returns how many it added.
   */
  enqueue(rows: readonly DeliveryRow[], now: number): Promise<number>;
  /**
   * Leases up to `limit` pending rows of a destination due at `now` (not leased, or with a lapsed lease) until
   * `leaseUntil`, oldest due first; rows another transaction holds are skipped.
   */
  claim(destinationId: string, now: number, leaseUntil: number, limit: number): Promise<DeliveryRow[]>;
  settle(settlements: readonly DeliverySettlement[]): Promise<void>;
  /** The earliest instant one of the destination's pending rows is due (a leased row: when its lease lapses). */
  nextDue(destinationId: string, now: number): Promise<number | undefined>;
  list(destinationId: string, query: DeliveryQuery): Promise<DeliveryRow[]>;
  get(destinationId: string, ids: readonly string[]): Promise<DeliveryRow[]>;
  counts(destinationId: string): Promise<Record<DeliveryStatus, number>>;
  /** Dead rows (all, or those of `ids`) back to pending, due at `now`, attempts reset; returns how many. */
  replay(destinationId: string, ids: readonly string[] | 'all', now: number): Promise<number>;
  /** Latency figures of the delivered rows finished since `since`: p50 / p99 of finishedAt − createdAt (ms). */
  latency(destinationId: string, since: number): Promise<{ count: number; p50: number | null; p99: number | null }>;
  /** Deletes up to `limit` delivered or skipped rows finished before `before`; returns how many. */
  purge(before: number, limit: number): Promise<number>;
  /** Every row of these profiles, of every destination, by `createdAt` then id (a data-subject access request). */
  ofProfiles(profileIds: readonly string[]): Promise<DeliveryRow[]>;
}

/** A marketing message counted by the pressure caps. */
export interface MessageRow {
  id: string;
  profileId: string;
  /** `email`, `sms`, `push`, or the channel a `Message Sent` event named (lower case). */
  channel: string;
  at: number;
  destinationId: string | null;
  deliveryId: string | null;
  /** `destination`: reserved by a send of Tessera's; `event`: a `Message Sent` event ingested from another tool. */
  origin: 'destination' | 'event';
}

export interface MessageStore {
  /**
   * Serialises pressure decisions about these profiles until the transaction ends (PostgreSQL: an advisory lock per
   * profile, in sorted order; SQLite: the write transaction already does).
   */
  lock(profileIds: readonly string[]): Promise<void>;
  insert(rows: readonly MessageRow[]): Promise<void>;
  /** Removes reservations (a send that was finally refused). */
  remove(keys: readonly { profileId: string; id: string }[]): Promise<void>;
  /** The profiles' messages at or after `from`, oldest first. */
  since(profileIds: readonly string[], from: number): Promise<MessageRow[]>;
}
