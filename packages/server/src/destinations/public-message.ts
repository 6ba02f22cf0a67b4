import { type DeliveryMessage, toPublicId } from '@tessera/protocol';

/**
 * A message as Tessera's own destinations write it for other systems (webhook, file, NATS, PostgreSQL): public ids
 * (`dlv_…`, `prof_…`, `evt_…`) and ISO 8601 times, as the HTTP API writes them.
 */
export function publicMessage(m: DeliveryMessage): Record<string, unknown> {
  return {
    id: toPublicId('delivery', m.id),
    kind: m.kind,
    profileId: toPublicId('profile', m.profileId),
    at: new Date(m.at).toISOString(),
    identifiers: m.identifiers,
    traits: m.traits,
    ...(m.event
      ? {
          event: {
            ...m.event,
            id: toPublicId('event', m.event.id),
            timestamp: new Date(m.event.timestamp).toISOString(),
          },
        }
      : {}),
    ...(m.audience ? { audience: m.audience } : {}),
  };
}
