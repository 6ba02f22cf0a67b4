import type { AudienceDefinition } from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { writeTransaction } from '../storage/write-transaction.js';
import { asBody, checkTraits, invalid, parseDefinition, text } from './audience-input.js';
import { compileAudience } from './compile-sql.js';
import { loadComputedTraits } from './computed-trait-settings.js';
import { referencedAudiences } from './evaluate-profiles.js';
import type { AudienceRow, AudienceVersionRow, MembershipRow } from './ports.js';
import { summarise } from './summarise.js';

/** An audience as the API shows it. */
export interface AudienceDetails extends AudienceRow {
  members: number;
  summary: { en: string; fr: string };
}

/** The answer of a preview (`docs/audiences.md`, "Preview"). */
export interface PreviewResult {
  summary: { en: string; fr: string };
  estimate: {
    count: number;
    low: number;
    high: number;
    confidence: number;
    sampled: number;
    matched: number;
    profiles: number;
    exact: boolean;
    ms: number;
  };
  exact?: { count: number; ms: number };
  /** Up to 10 members found in the sample (bare ids). */
  sample: string[];
}

const KEY = /^[A-Za-z0-9_-]{1,64}$/;
const DEFAULT_SAMPLE = 5_000;
/** z for a two-sided 95 % interval. */
const Z95 = 1.959964;

/**
 * Audiences as a marketer handles them (DESIGN §6, `docs/audiences.md`): definitions saved as versions, checked by
 * the parser, against the other audiences (every `audience` condition names a live one, and no cycle), deleted only
 * when no other audience names them; a save asks the scheduler for a full recomputation, while events go on moving
 * profiles in and out. Reads: members, a profile's stays, a preview (sample estimate, then the exact count).
 */
export function createAudienceService(storage: Storage, clock: () => number = Date.now) {
  async function details(rows: readonly AudienceRow[]): Promise<AudienceDetails[]> {
    const counts = await storage.memberships.counts();
    return rows.map((a) => ({
      ...a,
      members: counts.get(a.key) ?? 0,
      summary: { en: summarise(a.definition, 'en'), fr: summarise(a.definition, 'fr') },
    }));
  }

  async function live(key: string): Promise<AudienceRow> {
    const a = await storage.audiences.get(key);
    if (!a || a.deletedAt !== null) throw new TesseraError('not_found', `no audience ${JSON.stringify(key)}`);
    return a;
  }

  /** Every audience `definition` names exists and is live, and none of them names `key` back (directly or not). */
  async function checkReferences(key: string, definition: AudienceDefinition, audiences: readonly AudienceRow[]) {
    const byKey = new Map(audiences.filter((a) => a.deletedAt === null).map((a) => [a.key, a]));
    for (const ref of referencedAudiences(definition)) {
      if (!byKey.has(ref))
        throw new TesseraError(
          'invalid_request',
          `invalid audience: definition: names audience ${JSON.stringify(ref)}, which does not exist`,
          {
            details: { field: 'definition', audience: ref },
          },
        );
    }
    // Depth-first from the new definition's references: reaching `key` again is a cycle.
    const path: string[] = [];
    const seen = new Set<string>();
    const visit = (k: string): void => {
      path.push(k);
      if (k === key)
        throw new TesseraError(
          'invalid_request',
          `invalid audience: definition: makes a cycle (${[key, ...path].join(' → ')})`,
          {
            details: { field: 'definition', cycle: [key, ...path] },
          },
        );
      if (!seen.has(k)) {
        seen.add(k);
        const a = byKey.get(k);
        if (a) for (const next of referencedAudiences(a.definition)) visit(next);
      }
      path.pop();
    };
    for (const ref of referencedAudiences(definition)) visit(ref);
  }

  return {
    async list(): Promise<AudienceDetails[]> {
      return details(await storage.audiences.list());
    },

    async get(key: string): Promise<AudienceDetails> {
      return (await details([await live(key)]))[0];
    },

    async versions(key: string): Promise<AudienceVersionRow[]> {
      const versions = await storage.audiences.versions(key);
      if (versions.length === 0) throw new TesseraError('not_found', `no audience ${JSON.stringify(key)}`);
      return versions;
    },

    /**
     * Saves a new audience (version 1, or the next one after a deleted audience of the same key).
     * @throws TesseraError `invalid_request` naming the field; `conflict` when the key is taken (or still being deleted).
     */
    async create(body: unknown, by: string): Promise<AudienceDetails> {
      const b = asBody(body, ['key', 'name', 'description', 'definition']);
      const key = b.key;
      if (typeof key !== 'string' || !KEY.test(key)) invalid('key', 'is required: 1 to 64 letters, digits, `_` or `-`');
      const name = text(b, 'name', 200, true) as string;
      const description = text(b, 'description', 2000, false) ?? null;
      const definition = parseDefinition(b.definition, key);
      await checkTraits(storage.settings, definition);
      return writeTransaction(storage, async (tx) => {
        const audiences = await tx.audiences.list({ includeDeleted: true });
        const existing = audiences.find((a) => a.key === key);
        if (existing)
          throw new TesseraError(
            'conflict',
            existing.deletedAt === null
              ? `audience ${JSON.stringify(key)} exists already`
              : `audience ${JSON.stringify(key)} is being deleted; its members are leaving it`,
            { details: { key } },
          );
        if (audiences.filter((a) => a.deletedAt === null).length >= MAX_AUDIENCES)
          throw new TesseraError('conflict', `at most ${MAX_AUDIENCES} audiences`);
        await checkReferences(key, definition, audiences);
        const now = clock();
        const version = ((await tx.audiences.versions(key))[0]?.version ?? 0) + 1;
        const row: AudienceRow = {
          key,
          name,
          description,
          definition,
          version,
          createdAt: now,
          createdBy: by,
          updatedAt: now,
          updatedBy: by,
          deletedAt: null,
          recomputeRequestedAt: now,
          computedAt: null,
          computedVersion: null,
        };
        await tx.audiences.save(row);
        return { ...row, members: 0, summary: { en: summarise(definition, 'en'), fr: summarise(definition, 'fr') } };
      });
    },

    /** Saves the fields of `body` as the next version. */
    async update(key: string, body: unknown, by: string): Promise<AudienceDetails> {
      const b = asBody(body, ['name', 'description', 'definition']);
      const name = text(b, 'name', 200, false);
      const description = b.description === null ? null : text(b, 'description', 2000, false);
      const definition = b.definition === undefined ? undefined : parseDefinition(b.definition, key);
      if (definition) await checkTraits(storage.settings, definition);
      await writeTransaction(storage, async (tx) => {
        const audiences = await tx.audiences.list();
        const current = audiences.find((a) => a.key === key);
        if (!current) throw new TesseraError('not_found', `no audience ${JSON.stringify(key)}`);
        if (definition) await checkReferences(key, definition, audiences);
        const now = clock();
        await tx.audiences.save({
          ...current,
          name: name ?? current.name,
          description: description === undefined ? current.description : description,
          definition: definition ?? current.definition,
          version: current.version + 1,
          updatedAt: now,
          updatedBy: by,
          recomputeRequestedAt: now,
        });
      });
      return this.get(key);
    },

    /**
     * Deletes an audience: a last version marked deleted; the scheduler then closes every stay (`deleted`) and
     * removes the row. @throws `conflict` while another audience names it.
     */
    async remove(key: string, by: string): Promise<AudienceDetails> {
      const deleted = await writeTransaction(storage, async (tx) => {
        const audiences = await tx.audiences.list();
        const current = audiences.find((a) => a.key === key);
        if (!current) throw new TesseraError('not_found', `no audience ${JSON.stringify(key)}`);
        const users = audiences.filter((a) => a.key !== key && referencedAudiences(a.definition).has(key));
        if (users.length > 0)
          throw new TesseraError(
            'conflict',
            `audience ${JSON.stringify(key)} is named by ${users.map((a) => JSON.stringify(a.key)).join(', ')}; change those first`,
            { details: { key, namedBy: users.map((a) => a.key) } },
          );
        const now = clock();
        const row: AudienceRow = {
          ...current,
          version: current.version + 1,
          updatedAt: now,
          updatedBy: by,
          deletedAt: now,
          recomputeRequestedAt: now,
        };
        await tx.audiences.save(row);
        return row;
      });
      return (await details([deleted]))[0];
    },

    /** Asks the scheduler to recompute `key` in full at its next run. */
    async requestRecompute(key: string): Promise<AudienceDetails> {
      await writeTransaction(storage, async (tx) => {
        const current = await tx.audiences.get(key);
        if (!current || current.deletedAt !== null)
          throw new TesseraError('not_found', `no audience ${JSON.stringify(key)}`);
        await tx.audiences.requestRecompute(key, clock());
      });
      return this.get(key);
    },

    /** Current members of `key`, by profile id. */
    async members(key: string, opts: { limit: number; after?: string }): Promise<MembershipRow[]> {
      await live(key);
      return storage.memberships.members(key, opts);
    },

    /** Members at the end of each of the last `days` UTC days (today: now), oldest first. */
    async sizes(key: string, days: number, now = Date.now()): Promise<{ day: string; members: number }[]> {
      await live(key);
      const DAY = 86_400_000;
      const today = Math.floor(now / DAY);
      const instants = Array.from({ length: days }, (_, i) => Math.min(now, (today - days + 2 + i) * DAY - 1));
      const sizes = await storage.memberships.sizesAt(key, instants);
      return instants.map((t, i) => ({ day: new Date(t).toISOString().slice(0, 10), members: sizes[i] }));
    },

    /** The stays of a profile (its survivor's, when merged): open ones, or every one with `history`. */
    async ofProfile(profileId: string, history: boolean): Promise<(MembershipRow & { name: string | null })[]> {
      const survivor = (await storage.identities.resolve([profileId])).get(profileId) as string;
      const [profile] = await storage.profiles.get([survivor]);
      if (!profile) throw new TesseraError('not_found', 'no such profile');
      const stays = history
        ? await storage.memberships.history([survivor])
        : await storage.memberships.current([survivor]);
      const names = new Map((await storage.audiences.list()).map((a) => [a.key, a.name]));
      return stays.map((s) => ({ ...s, name: names.get(s.audienceKey) ?? null }));
    },

    /**
     * Estimates the members of a definition from a random sample of the profiles (Bernoulli, `sampleSize` expected),
     * with a 95 % Wilson interval corrected for the finite population; with `exact`, counts them all too.
     */
    async preview(body: unknown): Promise<PreviewResult> {
      const b = asBody(body, ['definition', 'exact', 'sampleSize']);
      const definition = parseDefinition(b.definition);
      await checkTraits(storage.settings, definition);
      if (b.exact !== undefined && typeof b.exact !== 'boolean') invalid('exact', 'must be true or false');
      const size = b.sampleSize ?? DEFAULT_SAMPLE;
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 100 || size > 100_000)
        invalid('sampleSize', 'must be a whole number from 100 to 100000');
      const audiences = await storage.audiences.list();
      for (const ref of referencedAudiences(definition))
        if (!audiences.some((a) => a.key === ref))
          invalid('definition', `names audience ${JSON.stringify(ref)}, which does not exist`);
      const now = clock();
      const d = storage.dialect;
      const { definitions: computedTraits } = await loadComputedTraits(storage.settings);
      const started = performance.now();
      const result = await storage.transaction(async (tx) => {
        const profiles = await tx.memberships.count(compileAudience(null, d, now, { count: true }));
        const fraction = profiles <= size ? 1 : size / profiles;
        const rows = await tx.memberships.tally(
          compileAudience(definition, d, now, { tally: true, fraction, computedTraits }),
        );
        return { profiles, fraction, rows: rows.map((r) => ({ id: r.id, member: r.member })) };
      });
      const sampled = result.rows.length;
      const members = result.rows.filter((r) => r.member);
      const N = result.profiles;
      const everyone = result.fraction === 1;
      const interval = everyone ? { low: members.length, high: members.length } : wilson(members.length, sampled, N);
      const out: PreviewResult = {
        summary: { en: summarise(definition, 'en'), fr: summarise(definition, 'fr') },
        estimate: {
          count: sampled === 0 ? 0 : Math.round((members.length / sampled) * N),
          ...interval,
          confidence: 0.95,
          sampled,
          matched: members.length,
          profiles: N,
          exact: everyone,
          ms: Math.round(performance.now() - started),
        },
        sample: members.slice(0, 10).map((r) => r.id),
      };
      if (b.exact === true) {
        const t = performance.now();
        const count = await storage.transaction((tx) =>
          tx.memberships.count(compileAudience(definition, d, now, { count: true, computedTraits })),
        );
        out.exact = { count, ms: Math.round(performance.now() - t) };
      }
      return out;
    },
  };
}

export type AudienceService = ReturnType<typeof createAudienceService>;

/** Live audiences at most (each batch evaluates every one for the profiles it touched). */
export const MAX_AUDIENCES = 500;

/**
 * The 95 % Wilson score interval of `m` members in a sample of `n` out of `N`, as counts of `N`, its half-width
 * shrunk by the finite population correction √((N − n) / (N − 1)).
 */
export function wilson(m: number, n: number, N: number): { low: number; high: number } {
  if (n === 0) return { low: 0, high: N };
  const p = m / n;
  const z2 = Z95 * Z95;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const fpc = N > 1 ? Math.sqrt(Math.max(0, (N - n) / (N - 1))) : 0;
  const half = ((Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator) * fpc;
  return {
    low: Math.max(m, Math.floor((centre - half) * N)),
    high: Math.min(N - (n - m), Math.ceil((centre + half) * N)),
  };
}
