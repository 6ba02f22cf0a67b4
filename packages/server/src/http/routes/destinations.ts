import { type Static, Type } from '@sinclair/typebox';
import {
  DELIVERY_STATUSES,
  DeliveryPage,
  DeliveryView,
  DestinationCreate,
  DestinationPage,
  DestinationStats,
  DestinationTypeList,
  DestinationUpdate,
  DestinationView,
  PressureAnswer,
  PressurePolicy,
  PressurePolicyView,
  ReplayRequest,
  ReplayResult,
  TestSendResult,
} from '@tessera/protocol';
import type { FastifyInstance } from 'fastify';
import { type DestinationService, deliveryView } from '../../destinations/destination-service.js';
import type { DeliveryRow, DeliveryStatus } from '../../destinations/ports.js';
import { TesseraError } from '../../errors.js';
import { decodeCursor, parseLimit, toPage } from '../pagination.js';
import { actorOf, authorize } from '../principal.js';
import { bearerRoute, errors, MANAGEMENT_ERRORS, PageQuery } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

const IdParams = Type.Object({ id: Type.String({ description: 'a destination id (`dst_…`)' }) });
const DeliveryParams = Type.Object({
  id: Type.String({ description: 'a destination id (`dst_…`)' }),
  deliveryId: Type.String({ description: 'a delivery id (`dlv_…`)' }),
});
const ProfileParams = Type.Object({ id: Type.String({ description: 'a profile id (`prof_…`); a merged one too' }) });
const DeliveriesQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.String({ description: '`pending`, `delivered`, `dead` or `skipped`' })),
});
const DlqQuery = Type.Object({ ...PageQuery });
const ProfileDeliveriesQuery = Type.Object({ limit: PageQuery.limit });
const PressureQuery = Type.Object({
  channel: Type.Optional(Type.String({ description: '`email` (default), `sms`, `push`, or another channel name' })),
});

const route = <T extends object>(summary: string, description: string, rest: T) =>
  bearerRoute('destinations', summary, description, rest);

const isDeliveryCursor = (v: unknown): v is { createdAt: number; id: string } =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as { createdAt?: unknown }).createdAt) &&
  typeof (v as { id?: unknown }).id === 'string';

function parseStatus(raw: string | undefined): DeliveryStatus | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!(DELIVERY_STATUSES as readonly string[]).includes(raw))
    throw new TesseraError('invalid_request', `status must be one of ${DELIVERY_STATUSES.join(', ')}`);
  return raw as DeliveryStatus;
}

/**
 * Destinations (DESIGN §7, `docs/destinations.md`): CRUD, test send, delivery log, dead-letter queue and replay,
 * the marketing-pressure policy and a person's pressure; thin handlers over `DestinationService`.
 */
export function destinationRoutes(deps: { destinations: DestinationService; respond: Respond }) {
  const { destinations, respond } = deps;
  const page = async (id: string, query: Static<typeof DlqQuery> & { status?: string }, status?: DeliveryStatus) => {
    const limit = parseLimit(query.limit);
    const before = decodeCursor(query.cursor, isDeliveryCursor);
    const rows = await destinations.deliveries(id, { status: status ?? parseStatus(query.status), limit, before });
    return toPage(
      rows,
      limit,
      (r: DeliveryRow) => deliveryView(r),
      (r) => ({ createdAt: r.createdAt, id: r.id }),
    );
  };
  return async (app: FastifyInstance) => {
    app.get(
      '/v1/destination-types',
      {
        schema: route(
          'List destination types',
          'The plugins this server has, each with its config schema (JSON Schema: the UI generates its form from ' +
            'it; properties marked `secret: true` are write-only), the message kinds it takes, its channel and ' +
            'default consent purpose. Roles: marketer, analyst, dpo, admin.',
          { response: { 200: DestinationTypeList, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        return respond(request, reply, { items: destinations.types() });
      },
    );
    app.get(
      '/v1/destinations',
      {
        schema: route(
          'List destinations',
          'Every live destination, oldest first, with its delivery counts; secrets masked. One page holds them all. ' +
            'Roles: marketer, analyst, dpo, admin.',
          { response: { 200: DestinationPage, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        return respond(request, reply, { items: await destinations.list(), nextCursor: null });
      },
    );
    app.post<{ Body: Static<typeof DestinationCreate> }>(
      '/v1/destinations',
      {
        schema: route(
          'Create a destination',
          'Saves version 1. `config` is checked against the type’s schema (the error names the field); `purpose` ' +
            'defaults to the type’s (`null`: no consent check), `channel` to the type’s (e-mail, SMS and push sends ' +
            'count against the pressure caps). Changes from now on are routed to it; history is not replayed. ' +
            'Roles: marketer, admin.',
          { body: DestinationCreate, response: { 201: DestinationView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.write');
        return respond(request, reply, await destinations.create(request.body, actorOf(request)), 201);
      },
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/v1/destinations/:id',
      {
        schema: route('Get a destination', 'Secrets masked. Roles: marketer, analyst, dpo, admin.', {
          params: IdParams,
          response: { 200: DestinationView, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        return respond(request, reply, await destinations.get(request.params.id));
      },
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof DestinationUpdate> }>(
      '/v1/destinations/:id',
      {
        schema: route(
          'Change a destination',
          'Saves the fields given as the next version. A secret sent back as `"********"` keeps its value. ' +
            'Messages already routed keep their content. Roles: marketer, admin.',
          {
            params: IdParams,
            body: DestinationUpdate,
            response: { 200: DestinationView, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.write');
        return respond(request, reply, await destinations.update(request.params.id, request.body, actorOf(request)));
      },
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/v1/destinations/:id',
      {
        schema: route(
          'Delete a destination',
          'Saves a last version marked deleted and answers it: nothing more is routed or sent to it. Roles: marketer, admin.',
          { params: IdParams, response: { 200: DestinationView, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.write');
        return respond(request, reply, await destinations.remove(request.params.id, actorOf(request)));
      },
    );
    app.post<{ Params: Static<typeof IdParams> }>(
      '/v1/destinations/:id/test',
      {
        schema: route(
          'Send a test message',
          'Sends one sample message (user `tessera-test`, e-mail `test@tessera.invalid`) now and answers the ' +
            'outcome; nothing is stored or retried. Roles: marketer, admin.',
          { params: IdParams, response: { 200: TestSendResult, ...errors(...MANAGEMENT_ERRORS, 404) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.write');
        return respond(request, reply, await destinations.test(request.params.id));
      },
    );
    app.get<{ Params: Static<typeof IdParams> }>(
      '/v1/destinations/:id/stats',
      {
        schema: route('Delivery statistics', 'Counts by status; deliveries and latency over the last hour.', {
          params: IdParams,
          response: { 200: DestinationStats, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        return respond(request, reply, await destinations.stats(request.params.id));
      },
    );
    app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof DeliveriesQuery> }>(
      '/v1/destinations/:id/deliveries',
      {
        schema: route(
          'The delivery log',
          'Every message routed to the destination, newest first: status, attempts, last HTTP status, reason, ' +
            'latency. `?status=` filters. Roles: marketer, analyst, dpo, admin.',
          {
            params: IdParams,
            querystring: DeliveriesQuery,
            response: { 200: DeliveryPage, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        return respond(request, reply, await page(request.params.id, request.query));
      },
    );
    app.get<{ Params: Static<typeof DeliveryParams> }>(
      '/v1/destinations/:id/deliveries/:deliveryId',
      {
        schema: route('Get a delivery', 'With the message as it is sent. Roles: marketer, analyst, dpo, admin.', {
          params: DeliveryParams,
          response: { 200: DeliveryView, ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        const d = await destinations.delivery(request.params.id, request.params.deliveryId);
        return respond(request, reply, deliveryView(d, true));
      },
    );
    app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof DlqQuery> }>(
      '/v1/destinations/:id/dlq',
      {
        schema: route(
          'The dead-letter queue',
          'Messages refused for good (4xx) or retried past `maxRetryHours`, newest first, with the reason. ' +
            'Roles: marketer, analyst, dpo, admin.',
          {
            params: IdParams,
            querystring: DlqQuery,
            response: { 200: DeliveryPage, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        return respond(request, reply, await page(request.params.id, request.query, 'dead'));
      },
    );
    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ReplayRequest> }>(
      '/v1/destinations/:id/dlq/replay',
      {
        schema: route(
          'Replay dead letters',
          'Puts dead-lettered messages (those of `ids`, or all) back in the queue, due now, attempts reset; each is ' +
            'sent with its original content and idempotency key. Roles: marketer, admin.',
          {
            params: IdParams,
            body: ReplayRequest,
            response: { 200: ReplayResult, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.write');
        return respond(request, reply, await destinations.replay(request.params.id, request.body?.ids));
      },
    );
    app.get(
      '/v1/settings/pressure',
      {
        schema: bearerRoute(
          'settings',
          'Get the marketing-pressure policy',
          'Caps, quiet hours, default time zone and over-cap policy (no caps before any is set). ' +
            'Roles: marketer, analyst, dpo, admin.',
          { response: { 200: PressurePolicyView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        return respond(request, reply, await destinations.pressurePolicy());
      },
    );
    app.put<{ Body: Static<typeof PressurePolicy> }>(
      '/v1/settings/pressure',
      {
        schema: bearerRoute(
          'settings',
          'Set the marketing-pressure policy',
          'Saves a new version. Roles: marketer, admin.',
          { body: PressurePolicy, response: { 200: PressurePolicyView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.write');
        return respond(request, reply, await destinations.setPressurePolicy(request.body, actorOf(request)));
      },
    );
    app.get<{ Params: Static<typeof ProfileParams>; Querystring: Static<typeof ProfileDeliveriesQuery> }>(
      '/v1/profiles/:id/deliveries',
      {
        schema: bearerRoute(
          'profiles',
          'Deliveries about a person',
          'What every destination was sent (or is to be sent) about the person and the profiles merged into it, ' +
            'newest first, with status and destination. Roles: marketer, analyst, dpo, admin.',
          {
            params: ProfileParams,
            querystring: ProfileDeliveriesQuery,
            response: { 200: Type.Object({ items: Type.Array(DeliveryView) }), ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        const limit = parseLimit(request.query.limit);
        return respond(request, reply, { items: await destinations.ofProfile(request.params.id, limit) });
      },
    );
    app.get<{ Params: Static<typeof ProfileParams>; Querystring: Static<typeof PressureQuery> }>(
      '/v1/profiles/:id/pressure',
      {
        schema: bearerRoute(
          'profiles',
          'Marketing pressure of a person',
          'Whether one more message on `channel` may be sent to the person now (by Tessera or by another tool that ' +
            'then reports a `Message Sent` event), the rule in the way and when it lifts, and each cap’s use. ' +
            'Reserves nothing. Roles: marketer, analyst, dpo, admin.',
          {
            params: ProfileParams,
            querystring: PressureQuery,
            response: { 200: PressureAnswer, ...errors(...MANAGEMENT_ERRORS, 404) },
          },
        ),
      },
      async (request, reply) => {
        authorize(request, 'destinations.read');
        const channel = (request.query.channel ?? 'email').trim().toLowerCase();
        if (!/^[a-z][a-z0-9_-]{0,31}$/.test(channel))
          throw new TesseraError('invalid_request', 'channel must be a channel name such as email, sms or push');
        return respond(request, reply, await destinations.pressure(request.params.id, channel));
      },
    );
  };
}
