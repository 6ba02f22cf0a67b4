import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal.js';

/**
 * A filter applied to every management API answer before it is sent: the place where PII masking (per role) and
 * the audit of profile reads plug in (DESIGN §8). Filters run in order; each returns the body to send.
 */
export type ResponseFilter = (
  body: unknown,
  ctx: { principal: Principal; route: string; request: FastifyRequest },
) => unknown;

/** The one response serialiser every management handler answers through. */
export function createResponder(filters: readonly ResponseFilter[]) {
  return function respond(request: FastifyRequest, reply: FastifyReply, body: unknown, status = 200) {
    let out = body;
    const ctx = { principal: request.principal, route: request.routeOptions.url ?? request.url, request };
    for (const f of filters) out = f(out, ctx);
    return reply.status(status).send(out);
  };
}

export type Respond = ReturnType<typeof createResponder>;
