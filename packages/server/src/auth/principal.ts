/** Roles of management API principals (DESIGN §8). */
export const ROLES = ['admin', 'marketer', 'analyst', 'dpo'] as const;
export type Role = (typeof ROLES)[number];

/** Who is making a request. Every handler has one. */
export type Principal =
  | { kind: 'token'; tokenId: string; roles: Role[]; userId?: string }
  /** A user signed in to the web app (a session cookie), or a user's own session token. */
  | { kind: 'session'; sessionId: string; userId: string; roles: Role[] }
  | { kind: 'writeKey'; sourceId: string; roles: [] }
  | { kind: 'anonymous'; roles: [] };

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', roles: [] }) as Principal;
