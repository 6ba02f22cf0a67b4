import type {
  AudienceCondition,
  AudienceDefinition,
  Comparison,
  ComputedTraitDefinition,
  ComputedTraitFunction,
  EventCondition,
  EventWindow,
  NumericComparison,
} from '@tessera/protocol';
import { isRelative } from './window.js';

export type SummaryLanguage = 'en' | 'fr';

type Unit = 'hours' | 'days' | 'weeks' | 'months';

/** The words of one language. Values are shown as in JSON, strings unquoted when that is unambiguous. */
interface Words {
  and: string;
  or: string;
  not: string;
  true: string;
  false: string;
  is: string;
  isNot: string;
  oneOf: string;
  contains: string;
  startsWith: string;
  isSet: string;
  isNotSet: string;
  between: (low: string, high: string) => string;
  computed: string;
  did: string;
  didNot: string;
  count: Record<NumericComparison['op'], string>;
  fn: Record<'sum' | 'min' | 'max', string>;
  over: string;
  with: string;
  last: (n: number, unit: Unit) => string;
  fromTo: (from: string, to: string) => string;
  since: string;
  before: string;
  account: string;
  accountWhere: string;
  consent: Record<'granted' | 'denied', string>;
  inAudience: string;
  notInAudience: string;
}

const EN: Words = {
  and: 'and',
  or: 'or',
  not: 'not',
  true: 'true',
  false: 'false',
  is: 'is',
  isNot: 'is not',
  oneOf: 'is one of',
  contains: 'contains',
  startsWith: 'starts with',
  isSet: 'is set',
  isNotSet: 'is not set',
  between: (low, high) => `between ${low} and ${high}`,
  computed: 'computed trait',
  did: 'did',
  didNot: 'did not do',
  count: {
    equals: 'exactly',
    not_equals: 'not exactly',
    gt: 'more than',
    gte: 'at least',
    lt: 'fewer than',
    lte: 'at most',
    between: 'between',
  },
  fn: { sum: 'sum of', min: 'minimum of', max: 'maximum of' },
  over: 'over',
  with: 'with',
  last: (n, unit) => (n === 1 ? `in the last ${unit.slice(0, -1)}` : `in the last ${n} ${unit}`),
  fromTo: (from, to) => `from ${from} until ${to}`,
  since: 'since',
  before: 'before',
  account: 'has an account',
  accountWhere: 'has an account where',
  consent: { granted: 'granted consent to', denied: 'denied consent to' },
  inAudience: 'in audience',
  notInAudience: 'not in audience',
};

const FR_UNITS: Record<Unit, { one: string; many: (n: number) => string }> = {
  hours: { one: 'de la dernière heure', many: (n) => `des ${n} dernières heures` },
  days: { one: 'du dernier jour', many: (n) => `des ${n} derniers jours` },
  weeks: { one: 'de la dernière semaine', many: (n) => `des ${n} dernières semaines` },
  months: { one: 'du dernier mois', many: (n) => `des ${n} derniers mois` },
};

const FR: Words = {
  and: 'et',
  or: 'ou',
  not: 'non',
  true: 'vrai',
  false: 'faux',
  is: 'est',
  isNot: "n'est pas",
  oneOf: "est l'un de",
  contains: 'contient',
  startsWith: 'commence par',
  isSet: 'est renseigné',
  isNotSet: "n'est pas renseigné",
  between: (low, high) => `entre ${low} et ${high}`,
  computed: 'trait calculé',
  did: 'a fait',
  didNot: "n'a pas fait",
  count: {
    equals: 'exactement',
    not_equals: 'pas exactement',
    gt: 'plus de',
    gte: 'au moins',
    lt: 'moins de',
    lte: 'au plus',
    between: 'entre',
  },
  fn: { sum: 'somme de', min: 'minimum de', max: 'maximum de' },
  over: 'sur',
  with: 'avec',
  last: (n, unit) => `au cours ${n === 1 ? FR_UNITS[unit].one : FR_UNITS[unit].many(n)}`,
  fromTo: (from, to) => `du ${from} au ${to} exclu`,
  since: 'depuis le',
  before: 'avant le',
  account: 'a un compte',
  accountWhere: 'a un compte où',
  consent: { granted: 'a consenti à', denied: 'a refusé' },
  inAudience: "dans l'audience",
  notInAudience: "hors de l'audience",
};

const SYMBOL = { gt: '>', gte: '≥', lt: '<', lte: '≤' } as const;
/** Shown without quotes: a word that cannot be read as a number, a boolean or a list. */
const BARE = /^[\p{L}\p{N}_@+./:-]+$/u;

/**
 * A readable one-line summary of a definition, for the UI and logs, in English or French: e.g. "plan is gold and at
 * least 2 × Order Completed with total > 50 in the last 30 days and not in audience X". Nested `and` / `or` are
 * parenthesised; string values are quoted when they could be misread (spaces, commas, numbers, `true`).
 */
export function summarise(definition: AudienceDefinition, language: SummaryLanguage): string {
  return node(definition, language === 'fr' ? FR : EN);
}

function node(n: AudienceCondition, w: Words): string {
  switch (n.type) {
    case 'and':
    case 'or':
      return n.conditions.map((c) => nested(c, w)).join(` ${w[n.type]} `);
    case 'not':
      if (n.condition.type === 'audience') return `${w.notInAudience} ${n.condition.key}`;
      return `${w.not} (${node(n.condition, w)})`;
    case 'trait':
      return `${n.key} ${comparison(n.compare, w)}`;
    case 'computed_trait':
      return `${w.computed} ${n.key} ${comparison(n.compare, w)}`;
    case 'event':
      return event(n, w);
    case 'entity':
      if (n.where === undefined || n.where.length === 0) return w.account;
      return `${w.accountWhere} ${n.where.map((f) => `${f.key} ${comparison(f.compare, w)}`).join(` ${w.and} `)}`;
    case 'consent':
      return `${w.consent[n.state]} ${n.purpose}`;
    case 'audience':
      return `${w.inAudience} ${n.key}`;
  }
}

/** A child of `and` / `or`: parenthesised when it holds an "and" of its own (a group, or several filters). */
function nested(c: AudienceCondition, w: Words): string {
  const text = node(c, w);
  const several =
    c.type === 'and' || c.type === 'or'
      ? c.conditions.length > 1
      : (c.type === 'event' || c.type === 'entity') && (c.where?.length ?? 0) > 1;
  return several ? `(${text})` : text;
}

function comparison(c: Comparison, w: Words): string {
  switch (c.op) {
    case 'equals':
      return `${w.is} ${value(c.value, w)}`;
    case 'not_equals':
      return `${w.isNot} ${value(c.value, w)}`;
    case 'in':
      return `${w.oneOf} ${c.values.map((v) => value(v, w)).join(', ')}`;
    case 'contains':
      return `${w.contains} ${value(c.value, w)}`;
    case 'starts_with':
      return `${w.startsWith} ${value(c.value, w)}`;
    case 'exists':
      return w.isSet;
    case 'not_exists':
      return w.isNotSet;
    case 'between':
      return w.between(String(c.values[0]), String(c.values[1]));
    default:
      return `${SYMBOL[c.op]} ${c.value}`;
  }
}

/** The events a condition counts, in words: name, filters, window. */
function events(n: Pick<EventCondition, 'name' | 'where' | 'window'>, w: Words): string {
  const filters = (n.where ?? []).map((f) => `${f.property} ${comparison(f.compare, w)}`);
  return [
    n.name,
    ...(filters.length > 0 ? [`${w.with} ${filters.join(` ${w.and} `)}`] : []),
    ...(n.window === undefined ? [] : [window(n.window, w)]),
  ].join(' ');
}

const TRAIT_WORDS: Record<SummaryLanguage, Record<ComputedTraitFunction, string>> = {
  en: {
    count: 'number of',
    sum: 'sum of',
    average: 'average of',
    min: 'minimum of',
    max: 'maximum of',
    first: 'first',
    last: 'last',
    most_frequent: 'most frequent',
    days_since: 'days since the last',
  },
  fr: {
    count: 'nombre de',
    sum: 'somme de',
    average: 'moyenne de',
    min: 'minimum de',
    max: 'maximum de',
    first: 'premier',
    last: 'dernier',
    most_frequent: 'valeur la plus fréquente de',
    days_since: 'jours depuis le dernier',
  },
};

/**
 * A computed trait in one line: "sum of total over Order Completed in the last 30 days", "number of Order
 * Completed with total > 50", "days since the last Order Completed".
 */
export function summariseTrait(definition: ComputedTraitDefinition, language: SummaryLanguage): string {
  const w = language === 'fr' ? FR : EN;
  const fn = TRAIT_WORDS[language][definition.fn];
  const tail = events({ name: definition.event, where: definition.where, window: definition.window }, w);
  if (definition.property === undefined) return `${fn} ${tail}`;
  return `${fn} ${definition.property} ${w.over} ${tail}`;
}

function event(n: EventCondition, w: Words): string {
  const tail = events(n, w);
  const a = n.aggregate;
  if (a === undefined) return `${w.did} ${tail}`;
  if (a.fn === 'count') {
    const c = a.compare;
    if (c.op === 'equals' && c.value === 0) return `${w.didNot} ${tail}`;
    return `${c.op === 'between' ? w.between(String(c.values[0]), String(c.values[1])) : `${w.count[c.op]} ${c.value}`} × ${tail}`;
  }
  return `${w.fn[a.fn]} ${a.property} ${numeric(a.compare, w)} ${w.over} ${tail}`;
}

function numeric(c: NumericComparison, w: Words): string {
  if (c.op === 'between') return w.between(String(c.values[0]), String(c.values[1]));
  if (c.op === 'equals') return `= ${c.value}`;
  if (c.op === 'not_equals') return `≠ ${c.value}`;
  return `${SYMBOL[c.op]} ${c.value}`;
}

function window(win: EventWindow, w: Words): string {
  if (isRelative(win)) return w.last(win.last, win.unit);
  if (win.from !== undefined && win.to !== undefined) return w.fromTo(win.from, win.to);
  return win.from !== undefined ? `${w.since} ${win.from}` : `${w.before} ${win.to}`;
}

function value(v: string | number | boolean, w: Words): string {
  if (typeof v === 'boolean') return v ? w.true : w.false;
  if (typeof v === 'number') return String(v);
  const misread = !BARE.test(v) || /^[+-]?[\d.]/.test(v) || ['true', 'false', w.true, w.false].includes(v);
  return misread ? JSON.stringify(v) : v;
}
