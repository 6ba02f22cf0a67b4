import { type Static, Type } from '@sinclair/typebox';
import {
  AuditPage,
  fromPublicId,
  MeView,
  PiiClasses,
  PiiClassesView,
  SessionCreate,
  SessionView,
  TokenCreate,
  TokenList,
  TokenView,
  toPublicId,
  UserCreate,
  UserList,
  UserPatch,
  UserView,
} from '@tessera/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../../auth/audit-log.js';
import { permissionsOf, rolesAllow, seesPii } from '../../auth/permissions.js';
import type { AuditEntry } from '../../auth/ports.js';
import type { Principal, Role } from '../../auth/principal.js';
import type { TokenService } from '../../auth/token-service.js';
import { SESSION_TTL_MS, type UserService, userView } from '../../auth/user-service.js';
import { TesseraError } from '../../errors.js';
import { PII_SETTING_KEY, type PiiClassification } from '../../privacy/pii.js';
import type { TokenRow } from '../../sources/ports.js';
import type { Storage } from '../../storage/storage.js';
import { decodeCursor, isTimeCursor, parseLimit, parseTime, toPage } from '../pagination.js';
import { actorOf, authorize } from '../principal.js';
import { bearerRoute, errors, MANAGEMENT_ERRORS, PageQuery, PUBLIC } from '../route-schemas.js';
import type { Respond } from '../serialise.js';

/** The web app's session cookie (HttpOnly, SameSite=Strict): `http/session-cookie.ts` reads it. */
export const SESSION_COOKIE = 'tessera_session';

const IdParams = Type.Object({ id: Type.String() });
const AuditQuery = Type.Object({
  ...PageQuery,
  actor: Type.Optional(Type.String({ description: 'a `usr_…` or `tok_…` id' })),
  profile: Type.Optional(Type.String({ description: 'a profile id (`prof_…`): the reads of it' })),
  action: Type.Optional(Type.String({ description: '`profile.read`, `session.create`, or `PUT /v1/…`' })),
  since: Type.Optional(Type.String({ description: 'ISO 8601 or epoch milliseconds' })),
});

const route = <T extends object>(summary: string, description: string, rest: T) =>
  bearerRoute('access', summary, description, rest);
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

function tokenView(t: TokenRow, secret?: string) {
  return {
    id: toPublicId('token', t.id),
    name: t.name,
    roles: t.roles,
    userId: t.userId === null ? null : toPublicId('user', t.userId),
    createdAt: new Date(t.createdAt).toISOString(),
    expiresAt: iso(t.expiresAt),
    revokedAt: iso(t.revokedAt),
    ...(secret ? { token: secret } : {}),
  };
}

const auditView = (e: AuditEntry) => ({
  id: toPublicId('audit', e.id),
  at: new Date(e.at).toISOString(),
  actor: e.actor,
  action: e.action,
  route: e.route,
  status: e.status,
  profileId: e.profileId === null ? null : toPublicId('profile', e.profileId),
  target: e.target,
});

function userIdOf(p: Principal): string | undefined {
  return p.kind === 'session' ? p.userId : p.kind === 'token' ? p.userId : undefined;
}

function cookie(request: FastifyRequest, value: string, maxAgeS: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`;
}

/** Users, sign-in, API tokens and the audit log (DESIGN §8, `docs/access-control.md`). */
export function accessRoutes(deps: {
  storage: Storage;
  users: UserService;
  tokens: TokenService;
  audit: AuditLog;
  pii: PiiClassification;
  respond: Respond;
}) {
  const { users, tokens, audit, respond, storage, pii } = deps;

  async function me(p: Principal) {
    if (p.kind !== 'session' && p.kind !== 'token') throw new TesseraError('unauthorized', 'no session or token');
    const userId = userIdOf(p);
    const user = userId ? await storage.users.get(userId) : undefined;
    return {
      kind: p.kind,
      user: user ? userView(user) : null,
      tokenId: p.kind === 'token' ? toPublicId('token', p.tokenId) : null,
      roles: p.roles,
      permissions: permissionsOf(p.roles),
      seesPii: seesPii(p),
    };
  }

  return async (app: FastifyInstance) => {
    app.post<{ Body: SessionCreate }>(
      '/v1/sessions',
      {
        schema: {
          tags: ['access'],
          summary: 'Sign in',
          description:
            'Checks the e-mail and password and opens a 12-hour session: the token is answered once and set as the ' +
            `\`${SESSION_COOKIE}\` cookie (HttpOnly, SameSite=Strict) the web app uses; it also works as a Bearer ` +
            'token. A wrong e-mail and a wrong password answer the same 401. After 5 failures for one e-mail, or ' +
            '20 from one address, within 15 minutes: 429 `rate_limited` with `Retry-After`.',
          security: PUBLIC,
          body: SessionCreate,
          response: { 201: SessionView, ...errors(400, 401, 429, 500) },
        },
      },
      async (request, reply) => {
        const s = await users.signIn(request.body.email, request.body.password, request.ip);
        const principal: Principal = { kind: 'session', sessionId: s.id, userId: s.user.id, roles: s.user.roles };
        audit.record({
          actor: toPublicId('user', s.user.id),
          action: 'session.create',
          route: '/v1/sessions',
          status: 201,
          profileId: null,
          target: null,
        });
        reply.header('set-cookie', cookie(request, s.token, SESSION_TTL_MS / 1000));
        return reply
          .status(201)
          .send({ me: await me(principal), expiresAt: new Date(s.expiresAt).toISOString(), token: s.token });
      },
    );
    app.delete(
      '/v1/sessions/current',
      {
        schema: route('Sign out', 'Ends the session of the request (cookie or Bearer) and clears the cookie.', {
          response: { 204: Type.Null(), ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        const p = request.principal;
        if (p.kind === 'anonymous') throw new TesseraError('unauthorized', 'no session');
        if (p.kind !== 'session') throw new TesseraError('invalid_request', 'this credential is not a session');
        await tokens.revoke(p.sessionId);
        reply.header('set-cookie', cookie(request, '', 0));
        return reply.status(204).send();
      },
    );
    app.get(
      '/v1/me',
      {
        schema: route(
          'Who am I',
          'The user or token of the request, its roles and the permissions they hold (`docs/access-control.md`).',
          { response: { 200: MeView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => respond(request, reply, await me(request.principal)),
    );

    app.post<{ Body: UserCreate }>(
      '/v1/users',
      {
        schema: route('Create a user', 'A person who signs in to the web app. Role: admin.', {
          body: UserCreate,
          response: { 201: UserView, ...errors(...MANAGEMENT_ERRORS, 409) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'users.manage');
        return respond(request, reply, userView(await users.create(request.body)), 201);
      },
    );
    app.get(
      '/v1/users',
      {
        schema: route('List users', 'Every user, by e-mail. Role: admin.', {
          response: { 200: UserList, ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'users.manage');
        return respond(request, reply, { items: (await users.list()).map(userView) });
      },
    );
    app.patch<{ Params: Static<typeof IdParams>; Body: UserPatch }>(
      '/v1/users/:id',
      {
        schema: route(
          'Change a user',
          'Name, password, roles, or `disabled`. A new password, new roles or disabling ends the user’s sessions. ' +
            'The last enabled admin user cannot lose the role or be disabled (409). Role: admin.',
          { params: IdParams, body: UserPatch, response: { 200: UserView, ...errors(...MANAGEMENT_ERRORS, 404, 409) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'users.manage');
        const id = fromPublicId('user', request.params.id);
        if (!id) throw new TesseraError('not_found', 'no such user');
        return respond(request, reply, userView(await users.update(id, request.body)));
      },
    );

    app.post<{ Body: TokenCreate }>(
      '/v1/tokens',
      {
        schema: route(
          'Create an API token',
          'A Bearer token for scripts, holding the roles asked for: an admin may give any, another user only roles ' +
            'they hold (403 otherwise). A token made by a signed-in user acts for them and stops with them. The ' +
            'secret is answered once. Roles: any.',
          { body: TokenCreate, response: { 201: TokenView, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'tokens.own');
        const p = request.principal;
        const roles = [...request.body.roles] as Role[];
        if (!rolesAllow(p.roles, 'users.manage') && roles.some((r) => !(p.roles as readonly Role[]).includes(r)))
          throw new TesseraError('forbidden', 'a token cannot hold a role you do not hold');
        const days = request.body.expiresInDays;
        const made = await tokens.create(request.body.name, roles, days === undefined ? undefined : days * 86_400_000, {
          userId: userIdOf(p),
        });
        const row = await storage.tokens.get(made.id);
        return respond(request, reply, tokenView(row as TokenRow, made.token), 201);
      },
    );
    app.get(
      '/v1/tokens',
      {
        schema: route('List API tokens', 'An admin sees every token, another user their own. Roles: any.', {
          response: { 200: TokenList, ...errors(...MANAGEMENT_ERRORS) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'tokens.own');
        const p = request.principal;
        const userId = userIdOf(p);
        const all = rolesAllow(p.roles, 'users.manage');
        if (!all && !userId) return respond(request, reply, { items: [] });
        const rows = await storage.tokens.list(all ? {} : { userId });
        return respond(request, reply, { items: rows.map((t) => tokenView(t)) });
      },
    );
    app.delete<{ Params: Static<typeof IdParams> }>(
      '/v1/tokens/:id',
      {
        schema: route('Revoke an API token', 'An admin may revoke any token, another user their own. Roles: any.', {
          params: IdParams,
          response: { 204: Type.Null(), ...errors(...MANAGEMENT_ERRORS, 404) },
        }),
      },
      async (request, reply) => {
        authorize(request, 'tokens.own');
        const id = fromPublicId('token', request.params.id);
        const row = id ? await storage.tokens.get(id) : undefined;
        const p = request.principal;
        if (!row || (!rolesAllow(p.roles, 'users.manage') && (row.userId === null || row.userId !== userIdOf(p))))
          throw new TesseraError('not_found', 'no such token');
        await tokens.revoke(row.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/v1/settings/pii-classes',
      {
        schema: {
          ...route(
            'Get the PII classification',
            'The fields masked for roles without PII access: the built-in defaults and the saved additions. ' +
              'Roles: any.',
            { response: { 200: PiiClassesView, ...errors(...MANAGEMENT_ERRORS) } },
          ),
          tags: ['settings'],
        },
      },
      async (request, reply) => {
        authorize(request, 'settings.read');
        return respond(request, reply, pii.current());
      },
    );
    app.put<{ Body: PiiClasses }>(
      '/v1/settings/pii-classes',
      {
        schema: {
          ...route(
            'Set the PII classification',
            'Field names (traits, event properties, context keys; matched ignoring case and punctuation) and their ' +
              'class: email, phone, name, address, ip, birthdate, other, or `none` to stop masking a default. A new ' +
              'version; other nodes follow within 30 s. Roles: dpo, admin.',
            { body: PiiClasses, response: { 200: PiiClassesView, ...errors(...MANAGEMENT_ERRORS) } },
          ),
          tags: ['settings'],
        },
      },
      async (request, reply) => {
        authorize(request, 'privacy.settings');
        await storage.transaction(
          (tx) => tx.settings.put(PII_SETTING_KEY, request.body, actorOf(request), Date.now()),
          {
            write: true,
          },
        );
        await pii.load();
        return respond(request, reply, pii.current());
      },
    );
    app.get<{ Querystring: Static<typeof AuditQuery> }>(
      '/v1/audit-log',
      {
        schema: route(
          'Read the audit log',
          'Every read of a profile by a user or token (`profile.read`), every sign-in and every management change ' +
            '(`METHOD /route`), newest first; filter by actor, profile, action, since. Roles: dpo, admin.',
          { querystring: AuditQuery, response: { 200: AuditPage, ...errors(...MANAGEMENT_ERRORS) } },
        ),
      },
      async (request, reply) => {
        authorize(request, 'audit.read');
        const q = request.query;
        const limit = parseLimit(q.limit);
        const cursor = decodeCursor(q.cursor, isTimeCursor);
        let profileId: string | undefined;
        if (q.profile !== undefined) {
          profileId = fromPublicId('profile', q.profile);
          if (!profileId) throw new TesseraError('invalid_request', 'profile must be a profile id (prof_…)');
        }
        const rows = await audit.list({
          limit: limit + 1,
          before: cursor ? { at: cursor.timestamp, id: cursor.id } : undefined,
          actor: q.actor,
          profileId,
          action: q.action,
          since: parseTime('since', q.since),
        });
        return respond(
          request,
          reply,
          toPage(rows, limit, auditView, (e) => ({ timestamp: e.at, id: e.id })),
        );
      },
    );
  };
}
