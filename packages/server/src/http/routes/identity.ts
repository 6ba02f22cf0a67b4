import { type Static, Type } from '@sinclair/typebox';
import {
  ExplainView,
  REVIEW_STATUSES,
  ReviewDecision,
  ReviewPage,
  type ReviewStatus,
  UnmergeBody,
  UnmergeResponse,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { TesseraError } from '../../errors.js';
import type { IdentityAdmin } from '../../identity/identity-admin.js';
import type { Metrics } from '../../ops/metrics.js';
import { decodeCursor, isIdCursor, parseLimit, toPage } from '../pagination.js';
import { actorOf, authorize } from '../principal.js';
import { BEARER, errors, MANAGEMENT_ERRORS, PageQuery } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const ReviewQuery = Type.Object({
  status: Type.Optional(Type.String({ description: '`open` (default), `accepted` or `rejected`' })),
  ...PageQuery,
});
const ReviewParams = Type.Object({ id: Type.String({ description: 'a review item id (`rev_…`)' }) });
const ProfileIdParams = Type.Object({ id: Type.String({ description: 'a profile id (`prof_…`); a merged one too' }) });

/** OpenAPI and validation of an identity route (Bearer token). */
const route = <T extends object>(tag: string, summary: string, description: string, rest: T) => ({
  tags: [tag],
  summary,
  description,
  security: BEARER,
  ...rest,
});

/** The review queue, unmerge and the evidence graph (DESIGN §4); thin handlers over `IdentityAdmin`. */
export function identityRoutes(deps: { identity: IdentityAdmin; metrics: Metrics; respond: Respond }) {
  const { identity, respond } = deps;
  return async (app: FastifyInstance) => {
    app.get<{ Querystring: Static<typeof ReviewQuery> }>(
      '/v1/identity/review',
      {
        schema: route(
          'identity',
          'List the identity review queue',
          'Pairs of the probabilistic matcher to decide (`probabilistic_match`, with both profiles and the per-field ' +
            'comparison) and merges a guard of identity resolution stopped (`identity_guard`), oldest first. ' +
            'Roles: marketer, analyst, dpo, admin.',
          { querystring: ReviewQuery, response: { 200: ReviewPage, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'identity.read');
        const status = (request.query.status ?? 'open') as ReviewStatus;
        if (!REVIEW_STATUSES.includes(status))
          throw new TesseraError('invalid_request', 'status must be open, accepted or rejected');
        const limit = parseLimit(request.query.limit);
        const rows = await identity.reviews({
          status,
          limit: limit + 1,
          after: decodeCursor(request.query.cursor, isIdCursor),
        });
        const page = toPage(
          rows,
          limit,
          (r) => r,
          (r) => r.id,
        );
        return respond(request, reply, { items: await identity.reviewItems(page.items), nextCursor: page.nextCursor });
      },
    );
    for (const [action, status] of [
      ['accept', 'accepted'],
      ['reject', 'rejected'],
    ] as const) {
      app.post<{ Params: Static<typeof ReviewParams> }>(
        `/v1/identity/review/:id/${action}`,
        {
          schema: route(
            'identity',
            action === 'accept' ? 'Accept a review item' : 'Reject a review item',
            (action === 'accept'
              ? 'A `probabilistic_match`: merges the pair (rule `review_accept`) and remembers it; `409 ' +
                'merge_refused` when the merge would break an identity limit or guard (nothing is written, the item ' +
                'stays open). An `identity_guard` item: acknowledged, nothing is merged.'
              : 'A `probabilistic_match`: remembered as not a match, so later matcher runs do not merge the pair. ' +
                'An `identity_guard` item: dismissed.') +
              ' Records who decided and when; `409 review_decided` when the item was decided already. No body. ' +
              'Role: admin.',
            { params: ReviewParams, response: { 200: ReviewDecision, ...errors(...MANAGEMENT_ERRORS, 404, 409) } },
          ),
        },
        async (request, reply) => {
          authorize(request, 'identity.manage');
          const decision = await identity.decide(request.params.id, status, actorOf(request));
          if (decision.merge) deps.metrics.merges.inc(decision.merge.mergedIds.length);
          return respond(request, reply, decision);
        },
      );
    }
    app.post<{ Params: Static<typeof ProfileIdParams>; Body: UnmergeBody }>(
      '/v1/profiles/:id/unmerge',
      {
        schema: route(
          'profiles',
          'Unmerge profiles',
          'Splits `profileIds` (merged into this profile), each with what was merged into it, back out: each part ' +
            'answers with its own identifiers, traits and events again, and new events with its identifiers land on ' +
            'it. Stored rows keep their profile ids (events and identifiers recorded on the survivor while merged ' +
            'stay with it); the unmerge is recorded (`/merges`, `/explain`) and the pair remembered as not a match. ' +
            '`409 not_merged` when an id is not merged into this profile. Role: admin.',
          {
            params: ProfileIdParams,
            body: UnmergeBody,
            response: { 200: UnmergeResponse, ...errors(...MANAGEMENT_ERRORS, 404, 409) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'identity.manage');
        return respond(request, reply, await identity.unmerge(request.params.id, request.body, actorOf(request)));
      },
    );
    app.get<{ Params: Static<typeof ProfileIdParams> }>(
      '/v1/profiles/:id/explain',
      {
        schema: route(
          'profiles',
          'Explain a profile',
          'The evidence graph of the profile: every id of its family (with its identifiers), every merge between ' +
            'them (rule, time, evidence: the linking identifiers of a deterministic merge, the per-field match ' +
            'weights of a probabilistic one), unmerges and identity decisions. Roles: marketer, analyst, dpo, admin.',
          { params: ProfileIdParams, response: { 200: ExplainView, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'identity.read');
        return respond(request, reply, await identity.explain(request.params.id));
      },
    );
  };
}
