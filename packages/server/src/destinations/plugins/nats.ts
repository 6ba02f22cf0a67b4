import { jetstream } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { Type } from '@sinclair/typebox';
import type { DestinationPlugin } from '../plugin.js';
import { publicMessage } from '../public-message.js';

export const NatsConfig = Type.Object(
  {
    servers: Type.String({
      minLength: 1,
      default: 'nats://127.0.0.1:4222',
      description: 'NATS server URL(s), comma-separated',
    }),
    subject: Type.String({
      pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$',
      description: 'Subject to publish to; `{kind}` is not expanded: one subject per destination',
    }),
    jetstream: Type.Boolean({
      default: false,
      description: 'Publish through JetStream (a stream must capture the subject): acknowledged, de-duplicated by id',
    }),
    token: Type.Optional(Type.String({ minLength: 1, secret: true, description: 'Auth token' })),
  },
  { additionalProperties: false },
);

/**
 * A NATS subject (DESIGN §7): one message per delivery, JSON (`publicMessage`), header `Nats-Msg-Id` = its id.
 * With `jetstream`, each publish waits for the stream's acknowledgement and JetStream drops a re-sent id within its
 * duplicate window; without, the batch counts as delivered once the server has received it (`flush`), which is what
 * core NATS can promise (subscribers that are not listening miss it).
 */
export const natsDestination: DestinationPlugin<typeof NatsConfig> = {
  type: 'nats',
  title: 'NATS subject',
  description: 'Publishes each message as JSON on a NATS subject (core NATS or JetStream)',
  configSchema: NatsConfig,
  maxBatch: 500,
  kinds: ['event', 'profile', 'audience'],
  async send(batch, ctx) {
    const { config } = ctx;
    let nc: NatsConnection;
    try {
      nc = await ctx.resource(
        'nats',
        () =>
          connect({
            servers: config.servers.split(',').map((s) => s.trim()),
            ...(config.token ? { token: config.token } : {}),
            name: `tessera-destination-${ctx.destinationId}`,
            timeout: 5000,
          }),
        (c) => c.drain(),
      );
    } catch (e) {
      return { kind: 'retry', reason: `nats: cannot connect: ${(e as Error).message}` };
    }
    try {
      if (config.jetstream) {
        const js = jetstream(nc);
        await Promise.all(
          batch.map((m) => {
            const out = publicMessage(m);
            return js.publish(config.subject, JSON.stringify(out), { msgID: out.id as string, timeout: 5000 });
          }),
        );
      } else {
        for (const m of batch) {
          const out = publicMessage(m);
          const h = headers();
          h.set('Nats-Msg-Id', out.id as string);
          nc.publish(config.subject, JSON.stringify(out), { headers: h });
        }
        await nc.flush();
      }
    } catch (e) {
      return { kind: 'retry', reason: `nats: ${(e as Error).message}` };
    }
    return { kind: 'ok' };
  },
};
