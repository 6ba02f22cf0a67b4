import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { DemoCall, DemoPerson } from '../demo-data.js';
import { generateDemo } from '../generate-demo.js';

/** The `now` every fixture is generated at. */
export const NOW = new Date('2025-06-01T00:00:00Z');
export const SEED = 42;

/** The default-sized demo data set, generated once per test file. */
export const DEMO = generateDemo({ seed: SEED, now: NOW });

type Json = Record<string, unknown>;

/** A nested object of a call (`{}` when missing). */
export function obj(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

/** The calls of one source, optionally of one type. */
export function callsOf(source: string, type?: string): Json[] {
  return DEMO.calls
    .filter((c) => c.source === source && (type === undefined || c.call.type === type))
    .map((c) => c.call);
}

/** The person with this user id. */
export function personByUserId(userId: unknown): DemoPerson | undefined {
  return DEMO.people.find((p) => p.userId !== undefined && p.userId === userId);
}

/** The identity engine's e-mail normalisation (DESIGN §4). */
export function normEmail(value: unknown): string {
  return String(value).trim().toLowerCase();
}

/** The identity engine's phone normalisation: E.164 with a default region, `undefined` when invalid. */
export function normPhone(value: unknown, region: CountryCode = 'US'): string | undefined {
  const parsed = parsePhoneNumberFromString(String(value), region);
  return parsed?.isValid() ? parsed.number : undefined;
}

/** Every `[where, value]` e-mail or phone a call carries in `traits` or `context.traits`. */
export function contactsOf({ call }: DemoCall, key: 'email' | 'phone'): unknown[] {
  return [obj(call.traits)[key], obj(obj(call.context).traits)[key]].filter((v) => v !== undefined);
}
