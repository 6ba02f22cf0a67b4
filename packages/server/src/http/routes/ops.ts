import type { FastifyInstance } from 'fastify';
import type { IngestWriter } from '../../ingest/ingest-writer.js';
import type { Metrics } from '../../ops/metrics.js';
import type { Storage } from '../../storage/storage.js';

/** `/healthz` and Prometheus `/metrics` (DESIGN §9). Both unauthenticated, as scrapers expect; no PII in either. */
export function opsRoutes(deps: { storage: Storage; writer: IngestWriter; metrics: Metrics; consumer: string }) {
  return async (app: FastifyInstance) => {
    app.get('/healthz', async (_request, reply) => {
      try {
        if (!deps.writer.alive()) return reply.status(503).send({ status: 'unavailable', reason: 'writer stopped' });
        await deps.storage.log.offset(deps.consumer);
        return { status: 'ok', backlog: deps.writer.backlog().events };
      } catch {
        return reply.status(503).send({ status: 'unavailable' });
      }
    });
    app.get('/metrics', async (_request, reply) => {
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
    });
  };
}
