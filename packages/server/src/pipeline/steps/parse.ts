import type { LoggedEvent } from '../../ingest/logged-event.js';
import { asJsonObject } from '../../json-record.js';
import { takePayload } from '../parsed-payload.js';
import { OK, type Step } from '../step.js';

/**
 * Reads the logged payload and normalises what later steps use: event time, observed traits (identify `traits`
 * and `context.traits`; `group` traits describe the account) and consents (`context.consent.categoryPreferences`
 * from Segment, `context.consentManagement` allowed / denied ids from RudderStack).
 */
export const parseStep: Step = {
  name: 'parse',
  run(ctx) {
    let event: LoggedEvent;
    try {
      event = takePayload(ctx.entry);
    } catch {
      return { kind: 'dlq', code: 'schema_invalid', reason: 'payload is not JSON' };
    }
    const at = Date.parse(event.timestamp);
    if (!Number.isFinite(at)) return { kind: 'dlq', code: 'invalid_timestamp', reason: 'timestamp is not a date' };
    ctx.event = event;
    ctx.at = at;
    const context = asJsonObject(event.context);
    const traits: Record<string, unknown> = { ...(asJsonObject(context?.traits) ?? {}) };
    if (event.type === 'identify') Object.assign(traits, asJsonObject(event.traits) ?? {});
    ctx.traits = traits;
    const prefs = asJsonObject(asJsonObject(context?.consent)?.categoryPreferences);
    if (prefs)
      for (const [purpose, granted] of Object.entries(prefs))
        if (typeof granted === 'boolean') ctx.consents.set(purpose, granted);
    const cm = asJsonObject(context?.consentManagement);
    if (cm) {
      for (const id of Array.isArray(cm.allowedConsentIds) ? cm.allowedConsentIds : [])
        if (typeof id === 'string') ctx.consents.set(id, true);
      for (const id of Array.isArray(cm.deniedConsentIds) ? cm.deniedConsentIds : [])
        if (typeof id === 'string') ctx.consents.set(id, false);
    }
    return OK;
  },
};
