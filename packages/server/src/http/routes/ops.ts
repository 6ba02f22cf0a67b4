import { Type } from '@sinclair/typebox';
import { Open } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { IngestWriter } from '../../ingest/ingest-writer.js';
import type { Metrics } from '../../ops/metrics.js';
import type { Storage } from '../../storage/storage.js';
import { errors, PUBLIC } from '../route-schemas.js';

const Healthy = Open(
  { status: Type.Literal('ok'), backlog: Type.Integer({ description: 'events appended, not yet processed' }) },
  'The writer runs and the store answers',
);
const Unhealthy = Open(
  { status: Type.Literal('unavailable'), reason: Type.Optional(Type.String()) },
  'The writer stopped or the store does not answer',
);

/** `/healthz` and Prometheus `/metrics` (DESIGN §9). Both unauthenticated, as scrapers expect; no PII in either. */
export function opsRoutes(deps: { storage: Storage; writer: IngestWriter; metrics: Metrics; consumer: string }) {
  return async (app: FastifyInstance) => {
    app.get(
      '/healthz',
      {
        schema: {
          tags: ['operations'],
          summary: 'Health check',
          description: 'For load balancers and orchestrators: 200 when healthy, 503 otherwise.',
          security: PUBLIC,
          response: { 200: Healthy, 503: Unhealthy },
        },
      },
      async (_request, reply) => {
        try {
          if (!deps.writer.alive()) return reply.status(503).send({ status: 'unavailable', reason: 'writer stopped' });
          if (!deps.writer.independentOfStore) await deps.storage.log.offset(deps.consumer);
          return { status: 'ok', backlog: deps.writer.backlog().events };
        } catch {
          return reply.status(503).send({ status: 'unavailable' });
        }
      },
    );
    app.get(
      '/metrics',
      {
        schema: {
          tags: ['operations'],
          summary: 'Prometheus metrics',
          description: 'Counters of received, stored, duplicate and quarantined events; backlog and lag gauges.',
          security: PUBLIC,
          response: {
            200: {
              description: 'Prometheus text exposition format',
              content: { 'text/plain': { schema: Type.String() } },
            },
            ...errors(500),
          },
        },
      },
      async (_request, reply) => {
        const backlog = deps.writer.backlog();
        deps.metrics.backlogEvents.set(backlog.events);
        deps.metrics.backlogSeconds.set(backlog.eventsPerSecond > 0 ? backlog.events / backlog.eventsPerSecond : 0);
        const oldest =
          backlog.events > 0
            ? await deps.storage.log.receivedAtAfter(await deps.storage.log.offset(deps.consumer))
            : undefined;
        deps.metrics.lagSeconds.set(oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000));
        reply.header('content-type', deps.metrics.registry.contentType);
        return deps.metrics.registry.metrics();
      },
    );
  };
}
