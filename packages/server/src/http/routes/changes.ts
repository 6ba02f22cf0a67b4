import { type Static, Type } from '@sinclair/typebox';
import { ChangePage, toPublicId } from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import type { Change } from '../../bus/ports.js';
import { TesseraError } from '../../errors.js';
import type { Storage } from '../../storage/storage.js';
import { parseLimit } from '../pagination.js';
import { authorize } from '../principal.js';
import { BEARER, errors, MANAGEMENT_ERRORS } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const ChangesQuery = Type.Object({
  after: Type.Optional(Type.String({ description: 'the last `seq` read (default 0: from the oldest kept)' })),
  kind: Type.Optional(
    Type.String({
      description:
        'only these kinds, comma-separated (`audience.entered,audience.exited`). One request then reads at most ' +
        '10,000 changes past `after`: a page may hold fewer items than `limit`, even none, with a `nextCursor` to ' +
        'go on from; `nextCursor` is `null` once every change is read.',
    }),
  ),
  limit: Type.Optional(Type.String({ description: 'page size, 1 to 1000 (default 50)' })),
});

/** Most `seq`s one request filtered by `kind` reads (see the handler). */
export const KIND_WINDOW = 10_000;

/** Payload ids as the API writes them: profile and event ids with their prefixes. */
function publicPayload(payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  const out: Record<string, unknown> = { ...(payload as Record<string, unknown>) };
  if (typeof out.profileId === 'string') out.profileId = toPublicId('profile', out.profileId);
  if (typeof out.eventId === 'string') out.eventId = toPublicId('event', out.eventId);
  return out;
}

const toView = (c: Change) => ({
  seq: c.seq,
  id: toPublicId('change', c.id),
  kind: c.kind,
  profileId: toPublicId('profile', c.profileId),
  payload: publicPayload(c.payload),
  createdAt: new Date(c.createdAt).toISOString(),
});

/**
 * The embedded change bus read over HTTP (DESIGN §3): a consumer without database access polls `?after=` with the
 * last `seq` it read. In cluster mode the bus is a JetStream stream, which consumers subscribe to instead.
 */
export function changeRoutes(deps: { storage: Storage; clusterBus: boolean; respond: Respond }) {
  const { storage, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: Static<typeof ChangesQuery> }>(
      '/v1/changes',
      {
        schema: {
          tags: ['operations'],
          summary: 'Read the change bus',
          description:
            'Changes after `after` (a `seq`), oldest first: what destinations and live views consume — events ' +
            'stored, traits changed, merges, audience entries and exits. Embedded mode only (`409` in cluster ' +
            'mode, where the bus is the JetStream stream `<prefix>_CHANGES`). Roles: admin, marketer, analyst.',
          security: BEARER,
          querystring: ChangesQuery,
          response: { 200: ChangePage, ...errors(...MANAGEMENT_ERRORS, 409) },
        },
      },
      async (request, reply) => {
        authorize(request, 'changes.read');
        if (deps.clusterBus)
          throw new TesseraError('conflict', 'in cluster mode the change bus is a JetStream stream: subscribe to it');
        const raw = request.query.after ?? '0';
        if (!/^\d{1,15}$/.test(raw)) throw new TesseraError('invalid_request', 'after must be a seq (a whole number)');
        const limit = parseLimit(request.query.limit);
        const kinds = request.query.kind?.split(',').filter((k) => k !== '');
        const after = Number(raw);
        if (!kinds || kinds.length === 0) {
          const rows = await storage.changes.after(after, { limit });
          return respond(request, reply, {
            items: rows.map(toView),
            nextCursor: rows.length > 0 ? String(rows[rows.length - 1].seq) : null,
          });
        }
        // A kind may be rare among millions of `event.stored` rows: one request reads a window of at most
        // KIND_WINDOW seqs, and a page that is not full continues after its window (read before the rows, so a change
        // committed meanwhile is after it), even when it is empty. Polling for a rare kind then costs the changes
        // written since the last poll, not the whole table each time.
        const through = Math.min(after + KIND_WINDOW, await storage.changes.lastSeq());
        const rows = through > after ? await storage.changes.after(after, { limit, kinds, through }) : [];
        const next = rows.length === limit ? rows[rows.length - 1].seq : through;
        return respond(request, reply, {
          items: rows.map(toView),
          nextCursor: next > after ? String(next) : null,
        });
      },
    );
  };
}
