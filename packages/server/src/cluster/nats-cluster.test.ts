import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type App, createApp } from '../app.js';
import { loadConfig } from '../config.js';
import { createTestSchema, testDatabaseUrl } from '../test/databases.js';
import { natsServerInstalled, startNatsCluster, testNatsUrl } from '../test/nats.js';
import { streamNames } from './jetstream.js';

/**
 * Cluster mode on a NATS cluster (DESIGN §2, docs/scaling.md): three NATS servers of the test's own, R3 streams.
 * Killing the server that leads the log stream mid-load loses no acknowledged event: JetStream acknowledges a
 * publish once a majority of the replicas stored it, and another server takes the lead.
 */
const dbUrl = testDatabaseUrl();
// Runs where the cluster suites run (it starts its own NATS servers; the machine's is not used).
const natsUrl = testNatsUrl();
const skip = !dbUrl
  ? 'TESSERA_TEST_DATABASE_URL is not set'
  : !natsUrl
    ? 'TESSERA_TEST_NATS_URL is not set'
    : !natsServerInstalled()
      ? 'nats-server is not installed'
      : '';
if (skip) console.log(`NATS cluster suite skipped: ${skip}`);
const suite = skip ? describe.skip : describe;
const basic = (k: string) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`;

suite('cluster mode on a three-server NATS cluster (R3 streams)', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it('cluster: R3 streams; the log stream leader killed mid-load, every acknowledged event is stored once', async () => {
    const nats = await startNatsCluster();
    cleanups.push(() => nats.remove());
    const schema = await createTestSchema(dbUrl as string);
    const prefix = `R${randomBytes(5).toString('hex').toUpperCase()}`;
    const app: App = await createApp(
      loadConfig(
        {
          TESSERA_DATABASE_URL: schema.url,
          TESSERA_NATS_URL: nats.url,
          TESSERA_NATS_PREFIX: prefix,
          TESSERA_NATS_REPLICAS: '3',
          TESSERA_NATS_ACK_WAIT_MS: '2000',
          TESSERA_PIPELINE_BATCH: '200',
        },
        { port: 0, logLevel: 'silent' },
      ),
      { logger: pino({ level: 'silent' }) },
    );
    cleanups.push(() => app.close());
    const { writeKey } = await app.sources.create({ name: 'web' });

    const nc = await connect({ servers: nats.url.split(',') });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    const names = streamNames(prefix);
    for (const stream of [names.logStream, names.changeStream]) {
      const info = await jsm.streams.info(stream);
      expect(info.config.num_replicas, stream).toBe(3);
      expect(info.cluster?.replicas?.length, stream).toBe(2);
    }

    // One request of 50 calls, sent again after a 503 as an SDK does (bounded): resolves to whether it got a 200.
    const acknowledged: string[] = [];
    let refused = 0;
    const send = async (batch: number) => {
      const calls = Array.from({ length: 50 }, (_, i) => ({
        type: 'track',
        userId: `u${(batch * 7 + i) % 40}`,
        event: 'Viewed',
        messageId: `r3-${batch}-${i}`,
      }));
      for (let attempt = 0; attempt < 120; attempt++) {
        const res = await app.http.inject({
          method: 'POST',
          url: '/v1/batch',
          headers: { authorization: basic(writeKey), 'content-type': 'application/json' },
          payload: { batch: calls },
        });
        if (res.statusCode === 200) {
          acknowledged.push(...calls.map((c) => c.messageId));
          return;
        }
        expect(res.statusCode, res.body).toBe(503); // never anything else, never a 200 for a lost publish
        refused++;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`batch ${batch} was refused for 30 s`);
    };
    for (let b = 0; b < 20; b++) await send(b);
    let leader: string | undefined;
    for (let i = 0; i < 50 && !leader; i++) {
      leader = (await jsm.streams.info(names.logStream)).cluster?.leader;
      if (!leader) await new Promise((r) => setTimeout(r, 200));
    }
    expect(nats.names).toContain(leader);
    await nats.kill(leader as string);
    // The load goes on while the two others elect a new leader.
    await Promise.all(
      Array.from({ length: 4 }, (_, k) =>
        (async () => {
          for (let b = 20 + k; b < 60; b += 4) await send(b);
        })(),
      ),
    );
    let newLeader: string | undefined;
    for (let i = 0; i < 100 && (!newLeader || newLeader === leader); i++) {
      newLeader = (await jsm.streams.info(names.logStream).catch(() => undefined))?.cluster?.leader;
      if (!newLeader || newLeader === leader) await new Promise((r) => setTimeout(r, 200));
    }
    expect(newLeader).not.toBe(leader);
    await nats.restart(leader as string);

    expect(acknowledged.length).toBe(3000);
    const db = new pg.Client({ connectionString: schema.url });
    await db.connect();
    cleanups.push(() => db.end());
    const storedCounts = async () => {
      const rows = await db.query<{ message_id: string; n: string }>(
        'select message_id, count(*) as n from events group by message_id',
      );
      return new Map(rows.rows.map((r) => [r.message_id, Number(r.n)]));
    };
    // Messages a killed server had delivered but the worker never received come back after the ack wait (2 s).
    let stored = new Map<string, number>();
    for (let i = 0; i < 30 && stored.size < 3000; i++) {
      await app.drain();
      stored = await storedCounts();
      if (stored.size < 3000) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(acknowledged.filter((id) => stored.get(id) !== 1)).toEqual([]);
    expect(stored.size).toBe(3000);
    console.log(
      `[nats-cluster] leader ${leader} killed, new leader ${newLeader}; ${refused} requests answered 503 and sent again`,
    );
  }, 120_000);
});
