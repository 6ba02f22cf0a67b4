import { type AudienceView, toPublicId } from '@tessera/protocol';
import type { AudienceDetails } from './audience-service.js';
import type { MembershipRow } from './ports.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** An audience as the API shows it (`GET /v1/audiences/{key}`), for the routes and for the CLI reading the store. */
export function audienceView(a: AudienceDetails): AudienceView {
  return {
    key: a.key,
    name: a.name,
    description: a.description,
    definition: a.definition,
    summary: a.summary,
    version: a.version,
    members: a.members,
    status: a.computedVersion === a.version ? 'ready' : 'computing',
    computedAt: a.computedAt === null ? null : iso(a.computedAt),
    createdAt: iso(a.createdAt),
    createdBy: a.createdBy,
    updatedAt: iso(a.updatedAt),
    updatedBy: a.updatedBy,
  };
}

/** A current member as the API shows it (`GET /v1/audiences/{key}/members`). */
export function memberView(m: MembershipRow): { profileId: string; enteredAt: string; version: number } {
  return { profileId: toPublicId('profile', m.profileId), enteredAt: iso(m.enteredAt), version: m.enteredVersion };
}
