import type { ChangeInput } from '../bus/ports.js';
import type { IdentityRules } from '../identity/rules.js';
import type { LogEntry, LoggedEvent } from '../ingest/logged-event.js';
import type { EventRow } from '../profiles/ports.js';
import type { LoadedSurvivorship } from '../profiles/survivorship-rules.js';
import type { Stores } from '../storage/storage.js';

/** What a step decides for one event (STYLE #9): expected outcomes are values; only bugs throw. */
export type StepResult =
  | { kind: 'ok' }
  /** Stop here, the event is consumed (de-dup key written) and counted, nothing else stored. */
  | { kind: 'drop'; reason: string }
  /** A transient failure: the whole batch is rolled back and retried later. */
  | { kind: 'retry'; reason: string }
  /** The event cannot be processed: it goes to quarantine with this code, the batch goes on. */
  | { kind: 'dlq'; code: string; reason: string };

export const OK: StepResult = Object.freeze({ kind: 'ok' });

/** Per-event working state shared by the steps of one run. */
export interface PipelineContext {
  readonly tx: Stores;
  readonly entry: LogEntry;
  readonly eventId: string;
  /** Processing time (ms). */
  readonly now: number;
  readonly rules: IdentityRules;
  readonly rulesVersion: number;
  /** The survivorship rules in force for the batch (`profiles/survivorship-rules.ts`). */
  readonly survivorship: LoadedSurvivorship;
  /** Set by `parse`. */
  event: LoggedEvent;
  /** Event time (ms), set by `parse`. */
  at: number;
  /** Set by `identity`. */
  profileId: string;
  /** Profiles merged into `profileId` by this event. */
  merged: string[];
  /** Set by `identity`: `profileId` was created by this event. */
  created: boolean;
  /** Every id redirected to `profileId`, and itself (looked up once, when a step needs it). */
  family(): Promise<string[]>;
  /** Traits observed on the event (identify traits and `context.traits`). */
  traits: Record<string, unknown>;
  /** Consents captured from `context.consent` / `context.consentManagement`: purpose → granted. */
  consents: Map<string, boolean>;
  /** Outbox rows to publish with the batch. */
  readonly changes: ChangeInput[];
  /**
   * Fast mode: takes the event's `events` row into the batch's buffer, synchronously (one multi-row insert at the
   * end of the batch). Absent in isolated mode, where the row is inserted in the event's savepoint.
   */
  readonly bufferEvent?: (row: EventRow) => void;
  /** Counters for metrics. */
  readonly counters: { merges: number };
}

/**
 * A named pipeline step: a small function in its own file (STYLE #10). It answers synchronously when it has nothing
 * to wait for (most steps, for most events): the batch awaits only a promise, and a clean batch runs a handful of
 * steps per event.
 */
export interface Step {
  readonly name: string;
  run(ctx: PipelineContext): StepResult | Promise<StepResult>;
}
