import { createSeededRandom } from '../../../seeded-random.js';
import { sleep } from './server-process.js';

/** A Segment-style call as an SDK sends it inside `/v1/batch`. */
export type Call = { type: string; messageId: string; timestamp: string } & Record<string, unknown>;

/** A deterministic random source, so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  return createSeededRandom(seed).next;
}

interface Person {
  i: number;
  /** First device. */
  anonA: string;
  /** Second device, joined later by e-mail, alias or a log-in. */
  anonB: string;
  userId: string;
  email: string;
  name: string;
  join: 'email' | 'alias' | 'login';
  step: number;
  visits: number;
}

const PLANS = ['free', 'starter', 'pro', 'enterprise'];
const PAGES = ['Home', 'Pricing', 'Docs', 'Blog', 'Checkout'];
const EVENTS = ['Product Viewed', 'Product Added', 'Cart Viewed', 'Signed In', 'Newsletter Subscribed'];

/**
 * The load: a pool of people, each with two anonymous devices, a user id and an e-mail, who browse anonymously,
 * identify (joining the first device to the user), join the second device (identify by e-mail — written with other
 * case and spaces —, `alias`, or a log-in: each a merge), then buy and update traits. Mixed in: a shared computer
 * (someone else's user id on a device: a `user_id` limit conflict), an alias joining two user ids (refused),
 * one-off visitors, consent, RudderStack's `context.traits.email`, and calls re-sent with the same messageId (in a
 * later batch, or twice in one batch), as SDKs do.
 *
 * Every call has its own event time (`timestamp`, unique, increasing with generation; no `sentAt`), so its
 * processing does not depend on when it was received.
 */
export class LoadGenerator {
  /** Every messageId generated → its call. */
  readonly sent = new Map<string, Call>();
  repeats = 0;
  private seq = 0;
  private readonly recent: Call[] = [];
  private readonly people: Person[] = [];

  constructor(
    private readonly rng: () => number,
    people = 300,
    private readonly base = Date.UTC(2025, 0, 15, 9, 0, 0),
  ) {
    for (let i = 0; i < people; i++) {
      this.people.push({
        i,
        anonA: `anon-${i}-a-${this.hex()}`,
        anonB: `anon-${i}-b-${this.hex()}`,
        userId: `user-${i}`,
        email: `person${i}@example.org`,
        name: `Person ${i}`,
        join: (['email', 'alias', 'login'] as const)[i % 3],
        step: 0,
        visits: 0,
      });
    }
  }

  /** A batch of `size` calls, a few of them repeats of earlier calls (same messageId, same body). */
  batch(size: number): Call[] {
    const out: Call[] = [];
    while (out.length < size) {
      const r = this.rng();
      if (r < 0.03 && this.recent.length > 0) {
        out.push(this.pick(this.recent));
        this.repeats++;
        continue;
      }
      if (r < 0.04 && out.length > 0) {
        out.push(this.pick(out));
        this.repeats++;
        continue;
      }
      const call = this.next();
      out.push(call);
      this.recent.push(call);
      if (this.recent.length > 2000) this.recent.shift();
    }
    return out;
  }

  private next(): Call {
    const u = this.rng();
    if (u < 0.02) {
      // A shared computer: another person logs in on p's first device.
      const p = this.pick(this.people);
      const q = this.pick(this.people);
      return this.call('identify', { anonymousId: p.anonA, userId: q.userId, traits: { name: q.name } });
    }
    if (u < 0.03) {
      const p = this.pick(this.people);
      const q = this.pick(this.people);
      return this.call('alias', { previousId: p.userId, userId: q.userId });
    }
    if (u < 0.05) {
      return this.call('page', { anonymousId: `visitor-${this.hex()}`, name: this.pick(PAGES), properties: {} });
    }
    const p = this.pick(this.people);
    const step = p.step++;
    switch (step) {
      case 0:
        return this.call('page', { anonymousId: p.anonA, name: 'Home', properties: { path: '/' } });
      case 1:
        return this.call('track', {
          anonymousId: p.anonA,
          event: 'Product Viewed',
          properties: { sku: `SKU-${p.i % 40}`, price: 10 + (p.i % 7) },
        });
      case 2:
        return this.call('page', { anonymousId: p.anonB, name: 'Pricing', properties: { path: '/pricing' } });
      case 3:
        return this.call('identify', {
          anonymousId: p.anonA,
          userId: p.userId,
          traits: { email: p.email, name: p.name, plan: 'free' },
          context: {
            ...this.context(),
            consent: { categoryPreferences: { analytics: true, marketing: p.i % 2 === 0 } },
          },
        });
      case 4:
        if (p.join === 'email')
          return this.call('identify', {
            anonymousId: p.anonB,
            traits: { email: `  ${p.email.replace('person', 'Person').toUpperCase()} ` },
          });
        if (p.join === 'alias') return this.call('alias', { previousId: p.anonB, userId: p.userId });
        return this.call('identify', { anonymousId: p.anonB, userId: p.userId, traits: { lastDevice: 'b' } });
      case 5:
        return this.call('track', {
          userId: p.userId,
          event: 'Order Completed',
          properties: { orderId: `o-${p.i}-${this.hex()}`, total: 20 + (p.i % 90), currency: 'EUR' },
        });
      default: {
        const v = this.rng();
        if (v < 0.25) {
          p.visits++;
          return this.call('identify', {
            userId: p.userId,
            traits: { plan: this.pick(PLANS), visits: p.visits },
            ...(v < 0.05
              ? { context: { ...this.context(), consent: { categoryPreferences: { marketing: this.rng() < 0.5 } } } }
              : {}),
          });
        }
        const ids = this.pick([
          { userId: p.userId },
          { anonymousId: p.anonA },
          { anonymousId: p.anonB },
          { userId: p.userId, anonymousId: p.anonB },
        ]);
        if (v < 0.55) return this.call('page', { ...ids, name: this.pick(PAGES), properties: {} });
        return this.call('track', {
          ...ids,
          event: this.pick(EVENTS),
          properties: { n: Math.floor(this.rng() * 1000) },
          ...(v > 0.95 ? { context: { ...this.context(), traits: { email: p.email } } } : {}),
        });
      }
    }
  }

  private call(type: string, fields: Record<string, unknown>): Call {
    this.seq++;
    const call: Call = {
      type,
      messageId: `msg-${this.seq}-${this.hex()}`,
      timestamp: new Date(this.base + this.seq * 7).toISOString(),
      context: this.context(),
      ...fields,
    };
    this.sent.set(call.messageId, call);
    return call;
  }

  private context() {
    return { library: { name: 'tessera-crash-test', version: '1.0.0' }, ip: '203.0.113.7' };
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rng() * list.length)];
  }

  private hex(): string {
    return Math.floor(this.rng() * 0xffffffff)
      .toString(16)
      .padStart(8, '0');
  }
}

export interface SenderStats {
  /** HTTP attempts (every POST, answered or not). */
  requests: number;
  /** Requests answered 200. */
  acknowledgedRequests: number;
  /** Attempts that failed with a network error (refused, reset, timed out). */
  networkErrors: number;
  /** Attempts answered with a retryable status (503, 429, 5xx). */
  retryableStatus: number;
  /** Batches re-sent at least once. */
  retriedBatches: number;
  /** Batches given up at the deadline (never acknowledged). */
  abandonedBatches: number;
  /** Total time of the requests answered 200, ms. */
  acknowledgedMs: number;
}

export interface SenderOptions {
  url: string;
  writeKey: string;
  generator: LoadGenerator;
  batchSize: number;
  rng: () => number;
  /** Stop generating new batches (retries of the current one go on). */
  stopGenerating: () => boolean;
  /** The test gave up: return at once, acknowledged or not. */
  aborted: () => boolean;
  /** Hard deadline (epoch ms) after which a batch is abandoned. */
  deadline: number;
  /** messageIds whose request answered 200. */
  acknowledged: Set<string>;
  stats: SenderStats;
  /** Pause between acknowledged batches, ms. */
  paceMs: [number, number];
}

/**
 * One SDK-like sender: sends a batch until it is acknowledged (200), re-sending the SAME body after a failure
 * (network error or 5xx / 429), then the next batch. Any other answer is a test failure (thrown).
 */
export async function runSender(o: SenderOptions): Promise<void> {
  const authorization = `Basic ${Buffer.from(`${o.writeKey}:`).toString('base64')}`;
  while (!o.stopGenerating() && Date.now() < o.deadline) {
    const batch = o.generator.batch(o.batchSize);
    const body = JSON.stringify({ batch, context: { library: { name: 'tessera-crash-test', version: '1.0.0' } } });
    let attempt = 0;
    for (;;) {
      if (o.aborted()) return;
      if (Date.now() >= o.deadline) {
        o.stats.abandonedBatches++;
        return;
      }
      attempt++;
      if (attempt === 2) o.stats.retriedBatches++;
      o.stats.requests++;
      let status = 0;
      let text = '';
      let retryAfter: string | null = null;
      const sentAt = performance.now();
      try {
        const res = await fetch(`${o.url}/v1/batch`, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(15_000),
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        text = await res.text();
      } catch {
        o.stats.networkErrors++;
        await sleep(50 + o.rng() * 200);
        continue;
      }
      if (status === 200) {
        const answer = JSON.parse(text) as { accepted: number; duplicates: number; quarantined: unknown[] };
        if (answer.quarantined.length > 0)
          throw new Error(`valid calls were quarantined: ${JSON.stringify(answer.quarantined.slice(0, 3))}`);
        if (answer.accepted + answer.duplicates !== batch.length)
          throw new Error(`answer does not account for the batch of ${batch.length}: ${text}`);
        o.stats.acknowledgedRequests++;
        o.stats.acknowledgedMs += performance.now() - sentAt;
        for (const c of batch) o.acknowledged.add(c.messageId);
        break;
      }
      if (status === 503 || status === 429 || status >= 500) {
        o.stats.retryableStatus++;
        const s = Number(retryAfter);
        await sleep(Number.isFinite(s) && s > 0 ? Math.min(s, 2) * 1000 : 100 + o.rng() * 200);
        continue;
      }
      throw new Error(`/v1/batch answered ${status}: ${text.slice(0, 500)}`);
    }
    await sleep(o.paceMs[0] + o.rng() * (o.paceMs[1] - o.paceMs[0]));
  }
}
