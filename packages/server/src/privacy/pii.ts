import type { Storage } from '../storage/storage.js';

/** Classes of personal data (DESIGN §8); each masks its own way (`maskValue`). */
export const PII_CLASSES = ['email', 'phone', 'name', 'address', 'ip', 'birthdate', 'other'] as const;
export type PiiClass = (typeof PII_CLASSES)[number];

/** The versioned setting: field names (traits, event properties, context keys) and their class, or `none`. */
export const PII_SETTING_KEY = 'pii.classes';
export type PiiFields = Record<string, PiiClass | 'none'>;

/**
 * Defaults, by normalised field name (lower case, letters and digits only): what a field called so holds in every
 * source we map (Segment's spec traits, Shopify, HubSpot exports). The setting adds to them or turns one off.
 */
export const DEFAULT_PII_FIELDS: Readonly<Record<string, PiiClass>> = {
  email: 'email',
  emailaddress: 'email',
  phone: 'phone',
  phonenumber: 'phone',
  mobile: 'phone',
  mobilephone: 'phone',
  name: 'name',
  firstname: 'name',
  lastname: 'name',
  fullname: 'name',
  username: 'name',
  address: 'address',
  street: 'address',
  address1: 'address',
  address2: 'address',
  postalcode: 'address',
  zip: 'address',
  zipcode: 'address',
  ip: 'ip',
  ipaddress: 'ip',
  birthday: 'birthdate',
  birthdate: 'birthdate',
  dateofbirth: 'birthdate',
};

/** Identifier types whose values are personal data in clear (ids are pseudonymous, shown as they are). */
const IDENTIFIER_CLASSES: Readonly<Record<string, PiiClass>> = { email: 'email', phone: 'phone' };

/**
 * Keys under which a document about a person sits (traits, event properties and context, raw payloads, evidence,
 * bundle sections): inside them every classified field is masked. Outside them only unambiguous field names are.
 * A bare `name` is masked under `traits` only (a product's or an audience's name elsewhere).
 */
const PERSONAL = new Set([
  'traits',
  'properties',
  'context',
  'payload',
  'raw',
  'evidence',
  'result',
  'profile',
  'previous',
  'before',
  'after',
  'message',
]);

export const normaliseField = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/** A masked value: enough to recognise a value one already knows, not to learn one. */
export function maskValue(cls: PiiClass, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'object') return maskAll(cls, value);
  const s = String(value);
  switch (cls) {
    case 'email': {
      const at = s.lastIndexOf('@');
      const dot = s.lastIndexOf('.');
      return at > 0 ? `${s[0]}***@***${dot > at ? s.slice(dot) : ''}` : '***';
    }
    case 'phone':
      return s.length > 4 ? `***${s.slice(-2)}` : '***';
    case 'name':
      return s.length > 0 ? `${s[0]}***` : s;
    default:
      return '***';
  }
}

function maskAll(cls: PiiClass, value: object): unknown {
  if (Array.isArray(value)) return value.map((v) => maskValue(cls, v));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(cls, v)]));
}

/** The masker of one classification: `mask(body)` answers a copy with every classified value masked. */
export function createMasker(fields: PiiFields) {
  const classes = new Map<string, PiiClass>(Object.entries(DEFAULT_PII_FIELDS));
  for (const [k, v] of Object.entries(fields)) {
    if (v === 'none') classes.delete(normaliseField(k));
    else classes.set(normaliseField(k), v);
  }
  /** A bare `name` is a person's only among traits (elsewhere: a product's, an audience's, a destination's). */
  const classOf = (key: string, traits: boolean): PiiClass | undefined => {
    const n = normaliseField(key);
    if (!traits && n === 'name') return undefined;
    return classes.get(n);
  };

  function walk(value: unknown, personal: boolean, traits: boolean): unknown {
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((v) => walk(v, personal, traits));
    const o = value as Record<string, unknown>;
    // `{type, value}`: an identifier; `{trait, value}`: a trait's history interval.
    const idClass = typeof o.type === 'string' && 'value' in o ? IDENTIFIER_CLASSES[o.type] : undefined;
    const traitClass = typeof o.trait === 'string' ? classOf(o.trait, true) : undefined;
    // `{field, left, right}`: how a field of a candidate pair compared (identity review).
    const fieldClass = typeof o.field === 'string' ? classOf(o.field, true) : undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === 'value' && (idClass || traitClass)) {
        out[k] = maskValue((idClass ?? traitClass) as PiiClass, v);
        continue;
      }
      if (fieldClass && (k === 'left' || k === 'right')) {
        out[k] = maskValue(fieldClass, v);
        continue;
      }
      const cls = classOf(k, traits);
      if (cls && (typeof v !== 'object' || v === null || personal)) {
        out[k] = maskValue(cls, v);
        continue;
      }
      const inner = personal || PERSONAL.has(k);
      const innerTraits = traits || k === 'traits';
      out[k] =
        typeof v === 'string' && inner && (k === 'raw' || k === 'payload')
          ? walkJsonText(v)
          : walk(v, inner, innerTraits);
    }
    return out;
  }

  /** A raw payload kept as JSON text: masked inside, written back as text (left as it is when not JSON). */
  function walkJsonText(text: string): string {
    if (!text.startsWith('{') && !text.startsWith('[')) return text;
    try {
      return JSON.stringify(walk(JSON.parse(text), true, false));
    } catch {
      return text;
    }
  }

  return { mask: (body: unknown) => walk(body, false, false), classOf: (key: string) => classOf(key, true) };
}

export type Masker = ReturnType<typeof createMasker>;

/**
 * The current classification, read from the versioned setting and kept in memory: the response serialiser masks
 * synchronously. Read again after a save on this node, and at most 30 s after one on another node.
 */
export function createPiiClassification(storage: Pick<Storage, 'settings'>, clock: () => number = Date.now) {
  let state = { fields: {} as PiiFields, version: 0, masker: createMasker({}), readAt: -Infinity };
  let loading: Promise<void> | undefined;
  async function load() {
    const row = await storage.settings.latest(PII_SETTING_KEY);
    const fields = ((row?.value as { fields?: PiiFields } | undefined)?.fields ?? {}) as PiiFields;
    state = { fields, version: row?.version ?? 0, masker: createMasker(fields), readAt: clock() };
  }
  return {
    load,
    /** The masker in force; starts a background re-read when the copy is older than 30 s. */
    masker(): Masker {
      if (clock() - state.readAt > 30_000 && !loading)
        loading = load()
          .catch(() => undefined)
          .finally(() => {
            loading = undefined;
          });
      return state.masker;
    },
    current: () => ({ fields: state.fields, version: state.version, defaults: DEFAULT_PII_FIELDS }),
  };
}

export type PiiClassification = ReturnType<typeof createPiiClassification>;
