import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';

/** Outcome of normalising one identifier value. */
export type Normalised = { ok: true; value: string } | { ok: false; reason: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Normalises an identifier value by type (DESIGN §4): e-mail trimmed and lower-cased, phone to E.164 with a default
 * region, wallet lower-cased hex, everything else trimmed. Values that cannot be identifiers of their type are
 * refused with a reason (the caller records the decision).
 */
export function normaliseIdentifier(type: string, raw: unknown, defaultRegion: string): Normalised {
  if (raw === null || raw === undefined) return { ok: false, reason: 'empty' };
  if (typeof raw !== 'string' && typeof raw !== 'number') return { ok: false, reason: 'not_a_scalar' };
  const text = String(raw).trim();
  if (text === '') return { ok: false, reason: 'empty' };
  if (text.length > 512) return { ok: false, reason: 'too_long' };
  switch (type) {
    case 'email': {
      const v = text.toLowerCase();
      return EMAIL.test(v) ? { ok: true, value: v } : { ok: false, reason: 'invalid_email' };
    }
    case 'phone': {
      const parsed = parsePhoneNumberFromString(text, defaultRegion as CountryCode);
      return parsed?.isValid() ? { ok: true, value: parsed.number } : { ok: false, reason: 'invalid_phone' };
    }
    case 'wallet': {
      const v = text.toLowerCase();
      return /^(0x)?[0-9a-f]{8,128}$/.test(v) ? { ok: true, value: v } : { ok: true, value: text };
    }
    default:
      return { ok: true, value: text };
  }
}
