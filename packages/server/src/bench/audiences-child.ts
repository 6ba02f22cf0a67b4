import path from 'node:path';
import { EXAMPLE_AUDIENCE } from '@tessera/protocol';
import BetterSqlite3 from 'better-sqlite3';
import { createAudienceService } from '../audiences/audience-service.js';
import { compileAudience, compileRecompute } from '../audiences/compile-sql.js';
import { recomputeAudience } from '../audiences/recompute.js';
import type { IdentityRow } from '../identity/ports.js';
import { newUuid } from '../ids.js';
import type { EventRow, ProfileRow } from '../profiles/ports.js';
import { createSeededRandom } from '../seeded-random.js';
import { createSqliteStorage } from '../storage/sqlite/create-sqlite-storage.js';
import { AUDIENCE_KEY, X_DEFINITION } from './audience-definitions.js';
import { peakRssMb } from './child.js';

/**
 * The store side of the audience benchmark (bench/audiences.ts), in a process of its own so that each peak RSS is
 * its own:
 * - `node audiences-child.js generate DIR PROFILES PROBES SEED`: a fresh embedded store in DIR (`tessera.db`) with
 *   PROFILES profiles and about 10 events each, written through the storage ports in large transactions (no
 *   pipeline); prints one JSON line, `GenerateReport`.
 * - `node audiences-child.js audiences DIR`: saves audience X and the issue's example audience (`EXAMPLE_AUDIENCE`),
 *   recomputes both in full, then previews; prints one JSON line, `AudiencesReport`.
 *
 * The data (seeded): 20 % of profiles on plan `gold`, 30 % `pro`, the rest `free`; 5 % with `churn_risk` `high`
 * (audience X), 15 % `low`; 0 to 20 `track` events per profile over the last 90 days, 20 % `Order Completed`
 * (`total` 10 to 200) and the rest `Product Viewed`. Profile i has the `user_id` `bench-user-<i>` (as the
 * background sender names them). Then 2 × PROBES more profiles for the latency probes, `user_id` `bench-probe-<j>`
 * (no background event reaches them): `gold`, no churn risk, exactly one `Order Completed` with total > 50 in the
 * window (5 days ago) and three `Product Viewed`: one more order over 50 makes each a member. The report's counts
 * are of the PROFILES profiles, the probes' aside.
 */

export interface GenerateReport {
  profiles: number;
  events: number;
  gold: number;
  churnHigh: number;
  orders: number;
  seconds: number;
  /** Profile ids (bare) of the probes, `bench-probe-<j>` at index j. */
  probes: string[];
  dbMb: number;
  peakMb: number;
}

export interface AudiencesReport {
  x: { members: number; entered: number; ms: number };
  audience: { members: number; entered: number; ms: number };
  /** A second full recomputation of the audience, nothing changed since (warm caches). */
  again: { members: number; entered: number; exited: number; ms: number };
  /**
   * Parts of a recomputation run alone (read-only): the members' select of `compileAudience`, and the one-pass
   * statement a recomputation runs (`compileRecompute`: members and re-check instants of the profiles passing the
   * time-independent conjuncts), with the rows it reads and how many carry a re-check.
   */
  selectMs: number;
  rechecksMs: number;
  rows: number;
  rechecks: number;
  plans: { select: string[]; rechecks: string[] };
  preview: { count: number; low: number; high: number; sampled: number; matched: number; ms: number };
  exact: { count: number; ms: number };
  /** Preview of X's trait-only definition, the baseline. */
  previewX: { count: number; ms: number; exactCount: number; exactMs: number };
  peakMb: number;
}

const DAY = 86_400_000;
const CHUNK = 20_000;

async function generate(dir: string, profiles: number, probes: number, seed: number): Promise<GenerateReport> {
  const started = performance.now();
  const file = path.join(dir, 'tessera.db');
  const storage = createSqliteStorage({ file });
  await storage.migrate();
  const random = createSeededRandom(seed);
  const now = Date.now();
  const source = newUuid();
  const report: GenerateReport = {
    profiles,
    events: 0,
    gold: 0,
    churnHigh: 0,
    orders: 0,
    seconds: 0,
    probes: [],
    dbMb: 0,
    peakMb: 0,
  };
  let position = 0;
  const event = (profileId: string, userId: string, name: string, timestamp: number, properties: object): EventRow => {
    position++;
    return {
      id: newUuid(),
      // Negative: never one of the ingest log's positions (the server's log starts empty).
      logPosition: -position,
      sourceId: source,
      type: 'track',
      name,
      messageId: `gen-${position}`,
      profileId,
      userId,
      anonymousId: null,
      timestamp,
      receivedAt: timestamp,
      properties: properties as Record<string, unknown>,
      traits: null,
      context: null,
    };
  };
  const order = (profileId: string, userId: string, timestamp: number, total: number) =>
    event(profileId, userId, 'Order Completed', timestamp, { order_id: `o-${position}`, total, currency: 'EUR' });
  const view = (profileId: string, userId: string, timestamp: number) =>
    event(profileId, userId, 'Product Viewed', timestamp, { sku: `SKU-${random.int(1, 5000)}`, price: 19.99 });

  const total = profiles + 2 * probes;
  for (let from = 0; from < total; from += CHUNK) {
    const rows: ProfileRow[] = [];
    const identities: IdentityRow[] = [];
    const events: EventRow[] = [];
    for (let i = from; i < Math.min(total, from + CHUNK); i++) {
      const id = newUuid();
      const probe = i >= profiles;
      const userId = probe ? `bench-probe-${i - profiles}` : `bench-user-${i}`;
      const createdAt = now - 120 * DAY + random.int(0, 30 * DAY);
      const p = random.next();
      const plan = probe || p < 0.2 ? 'gold' : p < 0.5 ? 'pro' : 'free';
      const c = random.next();
      const churn = probe ? undefined : c < 0.05 ? 'high' : c < 0.2 ? 'low' : undefined;
      const traits: Record<string, unknown> = { email: `bench${i}@example.com`, plan };
      if (churn) traits.churn_risk = churn;
      rows.push({
        id,
        createdAt,
        updatedAt: createdAt,
        traits,
        traitTimes: Object.fromEntries(Object.keys(traits).map((k) => [k, createdAt])),
      });
      identities.push({
        type: 'user_id',
        value: userId,
        profileId: id,
        sourceId: source,
        eventId: null,
        firstSeenAt: createdAt,
        createdAt,
      });
      if (probe) {
        report.probes.push(id);
        events.push(order(id, userId, now - 5 * DAY, 120));
        for (let k = 0; k < 3; k++) events.push(view(id, userId, now - random.int(1, 89) * DAY));
        continue;
      }
      if (plan === 'gold') report.gold++;
      if (churn === 'high') report.churnHigh++;
      const n = random.int(0, 20);
      report.events += n;
      for (let k = 0; k < n; k++) {
        const at = now - Math.floor(random.next() * 90 * DAY);
        if (random.chance(0.2)) {
          events.push(order(id, userId, at, random.int(1000, 20000) / 100));
          report.orders++;
        } else events.push(view(id, userId, at));
      }
    }
    await storage.transaction(
      async (tx) => {
        await tx.profiles.createMany(rows);
        await tx.identities.link(identities);
        await tx.events.insert(events);
      },
      { write: true },
    );
  }
  await storage.close();
  const db = new BetterSqlite3(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pages = Number(db.pragma('page_count', { simple: true })) * Number(db.pragma('page_size', { simple: true }));
  db.close();
  report.dbMb = pages / 1024 / 1024;
  report.seconds = (performance.now() - started) / 1000;
  report.peakMb = peakRssMb(process.pid);
  return report;
}

async function audiences(dir: string): Promise<AudiencesReport> {
  const file = path.join(dir, 'tessera.db');
  const storage = createSqliteStorage({ file });
  try {
    const service = createAudienceService(storage);
    await service.create({ key: 'X', name: 'Churn risk high', definition: X_DEFINITION }, 'bench');
    await service.create({ key: AUDIENCE_KEY, name: 'Gold buyers not at risk', definition: EXAMPLE_AUDIENCE }, 'bench');
    const now = Date.now();
    const x = await recomputeAudience(storage, 'X', now);
    const a = await recomputeAudience(storage, AUDIENCE_KEY, now);
    if (!x || !a) throw new Error('an audience was not created');
    const again = await recomputeAudience(storage, AUDIENCE_KEY, Date.now());
    if (!again) throw new Error('the audience is gone');

    // The two statements of a recomputation, alone (read-only): which one dominates.
    const compiled = compileAudience(EXAMPLE_AUDIENCE, storage.dialect, now);
    let t = performance.now();
    await storage.memberships.select(compiled);
    const selectMs = performance.now() - t;
    const onePass = compileRecompute(EXAMPLE_AUDIENCE, storage.dialect, now);
    t = performance.now();
    const rows = await storage.memberships.tally(onePass);
    const rechecksMs = performance.now() - t;
    const recheckCount = rows.filter((r) => r.due !== undefined).length;
    const db = new BetterSqlite3(file, { readonly: true });
    let plans: AudiencesReport['plans'];
    try {
      const plan = (q: { text: string; params: unknown[] }) =>
        (
          db.prepare(`explain query plan ${q.text}`).all(...q.params) as {
            id: number;
            parent: number;
            detail: string;
          }[]
        ).map((r) => r.detail);
      plans = { select: plan(compiled), rechecks: plan(onePass) };
    } finally {
      db.close();
    }

    const p = await service.preview({ definition: EXAMPLE_AUDIENCE, exact: true });
    const px = await service.preview({ definition: X_DEFINITION, exact: true });
    if (!p.exact || !px.exact) throw new Error('preview answered no exact count');
    return {
      x: { members: x.members, entered: x.entered, ms: x.ms },
      audience: { members: a.members, entered: a.entered, ms: a.ms },
      again: { members: again.members, entered: again.entered, exited: again.exited, ms: again.ms },
      selectMs,
      rechecksMs,
      rows: rows.length,
      rechecks: recheckCount,
      plans,
      preview: {
        count: p.estimate.count,
        low: p.estimate.low,
        high: p.estimate.high,
        sampled: p.estimate.sampled,
        matched: p.estimate.matched,
        ms: p.estimate.ms,
      },
      exact: p.exact,
      previewX: { count: px.estimate.count, ms: px.estimate.ms, exactCount: px.exact.count, exactMs: px.exact.ms },
      peakMb: peakRssMb(process.pid),
    };
  } finally {
    await storage.close();
  }
}

const [mode, dir, ...rest] = process.argv.slice(2);
const report =
  mode === 'generate'
    ? await generate(dir, Number(rest[0]), Number(rest[1]), Number(rest[2] ?? '1'))
    : mode === 'audiences'
      ? await audiences(dir)
      : undefined;
if (!report) throw new Error(`unknown mode ${mode}`);
process.stdout.write(`${JSON.stringify(report)}\n`);
