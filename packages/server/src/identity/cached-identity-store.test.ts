import { describe, expect, it } from 'vitest';
import { newUuid } from '../ids.js';
import { createSeededRandom } from '../seeded-random.js';
import { storagePair } from '../test/storage-pair.js';
import { cacheIdentityStore } from './cached-identity-store.js';
import type { DecisionRow, Identifier, IdentityRow, IdentityStore } from './ports.js';

const stores = storagePair();

const byKey = (a: Identifier, b: Identifier) => `${a.type}:${a.value}`.localeCompare(`${b.type}:${b.value}`);

/**
 * Runs the same random operations on the bare identity store of one database and, inside transactions, on the
 * batch cache over another (a transaction per "batch", flushed at its end as the pipeline does): every answer must
 * be the same (identity lists compared as sets: the cache appends what it links), and so must the tables at the end.
 * The pipeline's use is followed where the port leaves it open: a batch looks an identifier up before it links it.
 */
async function compare(seed: number, ops: number) {
  const random = createSeededRandom(seed);
  const rnd = random.next;
  const [cached, bare] = [stores.cached(), stores.bare()];
  const pick = random.pick;
  const profiles = [`p1-${seed}`, `p2-${seed}`, `p3-${seed}`];
  const identifiers: Identifier[] = [];
  for (let i = 0; i < 8; i++) identifiers.push({ type: pick(['email', 'user_id']), value: `v${seed}-${i}` });
  const log: string[] = [];
  // The pipeline links identifiers to a survivor (or a new profile) only.
  const survivor = async (id: string) => (await bare.identities.resolve([id])).get(id) ?? id;
  let op = 0;
  while (op < ops) {
    await cached.transaction(async (tx) => {
      const store = cacheIdentityStore(tx.identities);
      // A profile created in this batch, as the pipeline tells the cache; a stored one in later batches.
      const created = `new-${seed}-${op}`;
      store.created(created);
      profiles.push(created);
      const batchEnd = op + 1 + Math.floor(rnd() * 10);
      for (; op < Math.min(ops, batchEnd); op++) {
        const kind = rnd();
        const run = async <T>(f: (s: IdentityStore) => Promise<T>, norm: (x: T) => unknown = (x) => x) => {
          const [a, b] = [norm(await f(store)), norm(await f(bare.identities))];
          expect(a, `seed ${seed}, op ${op}: ${log.join(' | ')}`).toEqual(b);
        };
        if (kind < 0.3) {
          const wanted = [pick(identifiers), pick(identifiers)];
          log.push(`find+link ${wanted.map((i) => i.value)}`);
          await run(
            (s) => s.find(wanted),
            (rows) => [...rows].sort(byKey),
          );
          const profileId = await survivor(pick(profiles));
          const rows: IdentityRow[] = wanted.map((i) => ({
            ...i,
            profileId,
            sourceId: 's',
            eventId: null,
            firstSeenAt: op,
            createdAt: op,
          }));
          await run((s) => s.link(rows));
        } else if (kind < 0.4) {
          const rows: IdentityRow[] = [
            {
              ...pick(identifiers),
              profileId: await survivor(pick(profiles)),
              sourceId: 's',
              eventId: null,
              firstSeenAt: op,
              createdAt: op,
            },
          ];
          log.push(`link unseen ${rows[0].value}`);
          await run((s) => s.link(rows));
        } else if (kind < 0.65) {
          const chosen = rnd() < 0.7 ? [pick(profiles)] : [pick(profiles), pick(profiles)];
          log.push(`ofProfiles ${chosen}`);
          await run(
            (s) => s.ofProfiles(chosen),
            (rows) => [...rows].sort(byKey),
          );
        } else if (kind < 0.75) {
          const id = pick(profiles);
          log.push(`family / resolve ${id}`);
          await run(
            (s) => s.family(id),
            (ids) => [...ids].sort(),
          );
          await run(
            (s) => s.resolve([id]),
            (m) => [...m],
          );
        } else if (kind < 0.8) {
          const [from, to] = [pick(profiles), pick(profiles)];
          if (from === to) continue;
          log.push(`redirect ${from} → ${to}`);
          // A merge redirects survivors only: skip one that would redirect an id already redirected.
          const survivors = await bare.identities.resolve([from, to]);
          if (survivors.get(from) !== from || survivors.get(to) !== to) continue;
          await run((s) => s.redirect([from], to, op, op));
        } else if (kind < 0.9) {
          const row: DecisionRow = {
            id: newUuid(),
            profileId: pick(profiles),
            eventId: null,
            kind: 'link',
            identifierType: 'email',
            identifierValue: 'x',
            reason: 'test',
            evidence: { op },
            settingsVersion: 1,
            createdAt: op,
          };
          log.push('decision');
          await run((s) => s.recordDecisions([row]));
        } else {
          const chosen = [pick(profiles)];
          log.push(`decisions ${chosen}`);
          await run((s) => s.decisions(chosen));
        }
      }
      await store.flush();
    });
  }
  expect(await cached.identities.find(identifiers)).toEqual(await bare.identities.find(identifiers));
  expect(await cached.identities.decisions(profiles)).toEqual(await bare.identities.decisions(profiles));
}

describe('cacheIdentityStore', () => {
  it('answers and writes as the bare store does, over random batches of operations', async () => {
    for (let seed = 1; seed <= 60; seed++) await compare(seed, 50);
  });
});
