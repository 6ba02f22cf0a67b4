import type {
  AudienceCondition,
  AudienceDefinition,
  Comparison,
  ComputedTraitDefinition,
  EventCondition,
  EventWindow,
  NumericComparison,
  RfmSettings,
} from '@tessera/protocol';
import { TesseraError } from '../errors.js';
import type { SqlDialect } from '../storage/dialect.js';
import type { ComputedTraits } from './computed-trait.js';
import { isRfmTrait, RFM_GRID } from './rfm-segments.js';
import { type AudienceSqlFragments, audienceSqlFragments } from './sql-fragments.js';
import { toDate } from './values.js';
import { isRelative, UNIT_MS, windowLength } from './window.js';

/** One statement with `?` placeholders, for `rawQuery` (which numbers them for PostgreSQL). */
export interface CompiledAudience {
  text: string;
  params: unknown[];
}

/**
 * Compiles `definition` to one `select id` over the stored data: the survivor profiles (not redirected) that are
 * members at `now` (ms), by the same rules as `evaluateAudience` (docs/audiences.md), each reading its family (the
 * survivor and the ids redirected to it):
 * - traits: `profiles.traits` of the survivor (the golden record);
 * - events: `track` rows of `events` whose `name` is the condition's, `properties`, `timestamp`;
 * - consents: non-superseded rows valid at `now`, the latest `valid_from` (then id) per purpose;
 * - accounts: through `profile_accounts`;
 * - other audiences: the survivor's open stay in `audience_memberships`.
 * Every value is a bound parameter. Rows come ordered by id.
 *
 * `definition` null selects every survivor. Options: `fraction` (< 1) restricts the answer to a random sample of about that share of the profiles, drawn anew at each
 * run; `count` selects the number of members (`n`) instead of their ids; `tally` selects every profile considered,
 * `id` and `m` (1 for a member, else 0), for a sample's estimate.
 *
 * A `computed_trait` condition computes its trait in SQL from `opts.computedTraits` (its definition by key; an
 * unknown key throws `TesseraError` `invalid_request`). `definition` must have passed `parseAudience`.
 */
export function compileAudience(
  definition: AudienceDefinition | null,
  d: SqlDialect,
  now: number,
  opts: { fraction?: number; count?: boolean; tally?: boolean; computedTraits?: ComputedTraits } = {},
): CompiledAudience {
  const c = new Compiler(audienceSqlFragments(d), now, opts.computedTraits);
  const where = definition === null ? '1 = 1' : c.node(definition);
  const sample = opts.fraction !== undefined && opts.fraction < 1 ? ` and ${c.f.sample(opts.fraction, c.bind)}` : '';
  const base = `from profiles p where not exists (select 1 from profile_redirects r0 where r0.from_id = p.id)${sample}`;
  if (opts.tally) return c.finish(`select p.id, case when ${where} then 1 else 0 end as m ${base} order by p.id`);
  if (opts.count) return c.finish(`select count(*) as n ${base} and ${where}`);
  return c.finish(`select p.id ${base} and ${where} order by p.id`);
}

/**
 * A full recomputation in one pass: `select id, m, due` for the survivors that pass the definition's
 * time-independent top-level conjuncts (`staticConjuncts`: the others are no members, and time alone cannot make them
 * one until an event or another recomputation changes those conjuncts, which evaluates them again), with `m` 1 for a
 * member and `due` the instant time alone may change that (`nextExpiry` in SQL: an event entering or leaving a
 * relative window, the next whole day of a `days_since` trait; NULL for none). Ordered by id.
 */
export function compileRecompute(
  definition: AudienceDefinition,
  d: SqlDialect,
  now: number,
  computedTraits: ComputedTraits = new Map(),
): CompiledAudience {
  const c = new Compiler(audienceSqlFragments(d), now, computedTraits);
  const member = c.node(definition);
  const dues: string[] = [];
  const at = () => c.param(now, c.f.intParam);
  const events = (conds: string[]) =>
    `from ${FAMILY} join events e on e.profile_id = fam.id where ${conds.join(' and ')}`;
  const edges = (n: Pick<EventCondition, 'name' | 'where' | 'window'>) => {
    if (n.window === undefined || !isRelative(n.window)) return;
    const length = windowLength(n.window);
    const conds = [...c.eventFilters(n), `e.timestamp > ${c.param(now - length, c.f.intParam)}`];
    dues.push(
      `(select min(case when e.timestamp > ${at()} then e.timestamp else e.timestamp + ${c.param(length, c.f.intParam)} end) ${events(conds)})`,
    );
  };
  visit(definition, (n) => {
    if (n.type === 'event') edges(n);
    if (n.type !== 'computed_trait' || isRfmTrait(n.key)) return;
    const trait = c.trait(n.key);
    edges({ name: trait.event, where: trait.where, window: trait.window });
    if (trait.fn !== 'days_since') return;
    // The next whole day after the latest event the trait reads: now + DAY − ((now − latest) mod DAY), mod ≥ 0.
    const conds = [...c.eventFilters({ name: trait.event, where: trait.where }), ...c.windowFilters(trait.window)];
    const day = () => c.param(DAY, c.f.intParam);
    dues.push(
      `(select ${at()} + ${day()} - (((${at()} - max(e.timestamp)) % ${day()}) + ${day()}) % ${day()} ${events(conds)})`,
    );
  });
  const due =
    dues.length === 0
      ? `cast(null as ${c.f.intType})`
      : dues.length === 1
        ? dues[0]
        : `(select min(v) from (${dues.map((x) => `select ${x} as v`).join(' union all ')}) u)`;
  const statics = staticConjuncts(definition).map((n) => ` and ${c.node(n)}`);
  return c.finish(
    `select p.id, case when ${member} then 1 else 0 end as m, ${due} as due from profiles p where not exists (select 1 from profile_redirects r0 where r0.from_id = p.id)${statics.join('')} order by p.id`,
  );
}

/**
 * The top-level conjuncts of `definition` whose truth time alone cannot change (no relative window, no `days_since`
 * trait under them): the definition itself when it is such, the children of a root `and` that are, else none.
 */
export function staticConjuncts(definition: AudienceDefinition): AudienceCondition[] {
  if (isStatic(definition)) return [definition];
  return definition.type === 'and' ? definition.conditions.filter(isStatic) : [];
}

function isStatic(node: AudienceCondition): boolean {
  let moves = false;
  visit(node, (n) => {
    if (n.type === 'event' && n.window !== undefined && isRelative(n.window)) moves = true;
    // A computed trait is judged by name only here: any trait may move (its definition can change to one that does).
    if (n.type === 'computed_trait' && !isRfmTrait(n.key)) moves = true;
  });
  return !moves;
}

const DAY = UNIT_MS.days;

/** An RFM trait of survivor `p`, read from its stored scores (NULL when it has none). */
function rfmValue(key: string): string {
  const column =
    key === 'rfm_score'
      ? 'cast(s.r as text) || cast(s.f as text) || cast(s.m as text)'
      : key === 'rfm_segment'
        ? 's.segment'
        : `s.${key.slice(4)}`;
  return `(select ${column} from rfm_scores s where s.profile_id = p.id)`;
}

/**
 * The RFM run (docs/audiences.md, "RFM") as one `select` of the rows of `rfm_scores`, in column order: per survivor
 * with a purchase (`settings.event`, at or before `now`, in the last `windowDays` when set), the time of its latest
 * purchase, their number, the sum of `amountProperty` where it reads as a number, the quintile scores 1–5 (`ntile`,
 * ties broken by profile id: higher is more recent, more frequent, more spent), the segment of (R, F), `now` and
 * the settings version.
 */
export function compileRfm(settings: RfmSettings, d: SqlDialect, now: number, version: number): CompiledAudience {
  const c = new Compiler(audienceSqlFragments(d), now);
  const survivor = 'coalesce(r.to_id, e.profile_id)';
  const conds = [
    ...c.eventFilters({ name: settings.event }),
    `e.timestamp <= ${c.param(now, c.f.intParam)}`,
    ...(settings.windowDays === undefined
      ? []
      : [`e.timestamp > ${c.param(now - settings.windowDays * DAY, c.f.intParam)}`]),
  ];
  const base = `select ${survivor} as profile_id, max(e.timestamp) as last_at, count(*) as frequency,
      ${c.f.sum(c.numberOf(settings.amountProperty))} as monetary
    from events e left join profile_redirects r on r.from_id = e.profile_id
    where ${conds.join(' and ')} group by ${survivor}`;
  const scored = `select profile_id, last_at, frequency, monetary,
      ntile(5) over (order by last_at, profile_id) as r,
      ntile(5) over (order by frequency, profile_id) as f,
      ntile(5) over (order by monetary, profile_id) as m
    from (${base}) b`;
  const segment = `case ${RFM_GRID.flatMap((row, ri) => row.map((name, fi) => `when r = ${5 - ri} and f = ${fi + 1} then '${name}'`)).join(' ')} end`;
  return c.finish(
    `select profile_id, last_at, frequency, monetary, r, f, m, ${segment} as segment, ${c.param(now, c.f.intParam)} as computed_at, ${c.param(version, c.f.intParam)} as settings_version from (${scored}) x`,
  );
}

function visit(node: AudienceCondition, f: (node: AudienceCondition) => void): void {
  f(node);
  if (node.type === 'and' || node.type === 'or') for (const c of node.conditions) visit(c, f);
  else if (node.type === 'not') visit(node.condition, f);
}

/** A parameter's name while the text is built: no SQL fragment contains `@@`. */
const TOKEN = /@@(\d+)@@/g;

/**
 * The family of survivor `p.id` (itself and the ids redirected to it) as a derived table `fam(id)`: joined to a
 * person-owned table on its `profile_id`, it lets each side use that table's profile index.
 */
const FAMILY = '(select p.id as id union all select rf.from_id from profile_redirects rf where rf.to_id = p.id) fam';

class Compiler {
  readonly values: unknown[] = [];
  private aliases = 0;
  /** Names `value` as a parameter; returns its placeholder token. */
  readonly bind = (value: unknown): string => `@@${this.values.push(value) - 1}@@`;

  constructor(
    readonly f: AudienceSqlFragments,
    private readonly now: number,
    private readonly computed: ComputedTraits = new Map(),
  ) {}

  /** The definition of computed trait `key`. */
  trait(key: string): ComputedTraitDefinition {
    const trait = this.computed.get(key);
    if (!trait)
      throw new TesseraError('invalid_request', `audience SQL: no computed trait ${JSON.stringify(key)}`, {
        details: { type: 'computed_trait', key },
      });
    return trait;
  }

  /** The statement `text` with its named parameters numbered in text order (fragments nest in any order). */
  finish(text: string): CompiledAudience {
    const params: unknown[] = [];
    return {
      text: text.replace(TOKEN, (_, i: string) => {
        params.push(this.values[Number(i)]);
        return '?';
      }),
      params,
    };
  }

  /** A predicate that is never NULL, so that `not` is plain negation. */
  node(n: AudienceCondition): string {
    switch (n.type) {
      case 'and':
        return `(${n.conditions.map((x) => this.node(x)).join(' and ')})`;
      case 'or':
        return `(${n.conditions.map((x) => this.node(x)).join(' or ')})`;
      case 'not':
        return `(not ${this.node(n.condition)})`;
      case 'trait':
        return this.compare('p.traits', n.key, n.compare);
      case 'consent':
        return this.consent(n.purpose, n.state === 'granted');
      case 'entity': {
        const filters = (n.where ?? []).map((w) => this.compare('a.traits', w.key, w.compare));
        return `exists (select 1 from ${FAMILY} join profile_accounts pa on pa.profile_id = fam.id join accounts a on a.id = pa.account_id${filters.length > 0 ? ` where ${filters.join(' and ')}` : ''})`;
      }
      case 'event':
        return this.event(n);
      case 'audience':
        return `exists (select 1 from audience_memberships m where m.profile_id = p.id and m.audience_key = ${this.param(n.key, this.f.textParam)} and m.exited_at is null)`;
      case 'computed_trait':
        if (isRfmTrait(n.key)) return this.compare(this.f.jsonValue(rfmValue(n.key)), 'v', n.compare);
        return this.computedTrait(this.trait(n.key), n.compare);
    }
  }

  /** `value` as a parameter, in the fragment `placeholder` (`cast(? as …)`). */
  param(value: unknown, placeholder: string): string {
    return placeholder.replace('?', this.bind(value));
  }

  private consent(purpose: string, granted: boolean): string {
    const latest = `select c.granted from ${FAMILY} join consents c on c.profile_id = fam.id where c.purpose = ${this.param(purpose, this.f.textParam)} and c.superseded_at is null and c.valid_from <= ${this.param(this.now, this.f.intParam)} order by c.valid_from desc, c.id desc limit 1`;
    return `coalesce((${latest}) = ${granted ? 1 : 0}, false)`;
  }

  /** Row `e` of `events` is a `track` event passing the condition's name and property filters. */
  eventFilters(n: Pick<EventCondition, 'name' | 'where'>): string[] {
    return [
      `e.type = 'track'`,
      `e.name = ${this.param(n.name, this.f.textParam)}`,
      ...(n.where ?? []).map((w) => this.compare('e.properties', w.property, w.compare)),
    ];
  }

  /** Row `e` of `events` falls in `w` at `now`. */
  windowFilters(w: EventWindow | undefined): string[] {
    if (w === undefined) return [];
    if (isRelative(w))
      return [
        `e.timestamp > ${this.param(this.now - windowLength(w), this.f.intParam)}`,
        `e.timestamp <= ${this.param(this.now, this.f.intParam)}`,
      ];
    const out: string[] = [];
    if (w.from !== undefined) out.push(`e.timestamp >= ${this.param(toDate(w.from), this.f.intParam)}`);
    if (w.to !== undefined) out.push(`e.timestamp < ${this.param(toDate(w.to), this.f.intParam)}`);
    return out;
  }

  /** `from` the survivor's family's events that a condition (name, filters, window) counts. */
  private eventsFrom(n: Pick<EventCondition, 'name' | 'where' | 'window'>): string {
    const conds = [...this.eventFilters(n), ...this.windowFilters(n.window)];
    return `from ${FAMILY} join events e on e.profile_id = fam.id where ${conds.join(' and ')}`;
  }

  /** The numeric value of property `path` of event row `e`, or NULL. */
  numberOf(path: string): string {
    const v = this.alias();
    return `(select ${this.number(v)} from (select ${this.f.bindValue('e.properties', path.split('.'), this.bind)}) ${v})`;
  }

  private event(n: EventCondition): string {
    const from = this.eventsFrom(n);
    const a = n.aggregate;
    if (a === undefined) return `exists (select 1 ${from})`;
    if (a.fn === 'count') return this.numeric(`(select count(*) ${from})`, a.compare);
    const value = this.numberOf(a.property as string);
    return this.numeric(`(select ${a.fn === 'sum' ? this.f.sum(value) : `${a.fn}(${value})`} ${from})`, a.compare);
  }

  /** A computed trait's value (computeTrait) compared by `c`, as for a trait. */
  private computedTrait(t: ComputedTraitDefinition, c: Comparison): string {
    const from = this.eventsFrom({ name: t.event, where: t.where, window: t.window });
    const property = t.property ?? '';
    const scalar = (expr: string) => this.compare(this.f.jsonValue(expr), 'v', c);
    switch (t.fn) {
      case 'count':
        return scalar(`(select count(*) ${from})`);
      case 'days_since':
        return scalar(
          `(select (${this.param(this.now, this.f.intParam)} - max(e.timestamp)) / ${this.param(DAY, this.f.intParam)} ${from})`,
        );
      case 'sum':
        return scalar(`(select ${this.f.sum(this.numberOf(property))} ${from})`);
      case 'average':
        return scalar(`(select avg(${this.numberOf(property)}) ${from})`);
      case 'min':
      case 'max':
        return scalar(`(select ${t.fn}(${this.numberOf(property)}) ${from})`);
      case 'first':
      case 'last': {
        const order = t.fn === 'first' ? 'e.timestamp, e.id' : 'e.timestamp desc, e.id desc';
        return this.compare(`(select e.properties ${from} order by ${order} limit 1)`, property, c);
      }
      case 'most_frequent': {
        const v = this.alias();
        const text = `(select case when ${this.f.isString(v)} then ${this.f.text(v)} end from (select ${this.f.bindValue('e.properties', property.split('.'), this.bind)}) ${v})`;
        return scalar(
          `(select mf.s from (select ${text} as s ${from}) mf where mf.s is not null group by mf.s order by count(*) desc, mf.s${this.f.binaryCollation} limit 1)`,
        );
      }
    }
  }

  private alias(): string {
    return `v${++this.aliases}`;
  }

  /** `x` (a number, NULL when there is none) passes `c`; NULL is false. */
  private numeric(x: string, c: NumericComparison): string {
    if (c.op === 'between') {
      return `coalesce(${x} between ${this.param(c.values[0], this.f.doubleParam)} and ${this.param(c.values[1], this.f.doubleParam)}, false)`;
    }
    return `coalesce(${x} ${SQL_OP[c.op]} ${this.param(c.value, this.f.doubleParam)}, false)`;
  }

  /** The value at dotted `path` of JSON `column` passes `c` (compareValue). */
  private compare(column: string, path: string, c: Comparison): string {
    const v = this.alias();
    const bind = this.f.bindValue(column, path.split('.'), this.bind);
    return `coalesce((select ${this.test(v, c)} from (select ${bind}) ${v}), false)`;
  }

  /** compareValue on the value bound in alias `v`; never NULL. */
  private test(v: string, c: Comparison): string {
    const f = this.f;
    switch (c.op) {
      case 'exists':
        return f.present(v);
      case 'not_exists':
        return `(not ${f.present(v)})`;
      case 'equals':
        return this.equals(v, c.value);
      case 'not_equals':
        return `(${f.present(v)} and not ${this.equals(v, c.value)})`;
      case 'in':
        return `(${c.values.map((x) => this.equals(v, x)).join(' or ')})`;
      case 'contains': {
        const e = this.alias();
        const inArray = `exists (select 1 from ${f.elements(v)} ${e} where ${this.equals(e, c.value)})`;
        if (typeof c.value !== 'string') return inArray;
        return `(case when ${f.isString(v)} then ${f.containsText(f.text(v), this.param(c.value, f.textParam))} else ${inArray} end)`;
      }
      case 'starts_with': {
        const prefix = this.param(c.value, f.textParam);
        const length = this.param(c.value, f.textParam);
        return `coalesce(${f.isString(v)} and substr(${f.text(v)}, 1, length(${length})) = ${prefix}, false)`;
      }
      case 'between': {
        const [low, high] = c.values;
        const x = typeof low === 'number' ? this.number(v) : this.date(v);
        const lo = this.bound(low);
        const hi = this.bound(high);
        return `coalesce(${x} between ${lo} and ${hi}, false)`;
      }
      default: {
        const x = typeof c.value === 'number' ? this.number(v) : this.date(v);
        return `coalesce(${x} ${SQL_OP[c.op]} ${this.bound(c.value)}, false)`;
      }
    }
  }

  private bound(b: number | string): string {
    return typeof b === 'number' ? this.param(b, this.f.doubleParam) : this.param(toDate(b), this.f.intParam);
  }

  /** equalsScalar: never NULL. */
  private equals(v: string, expected: string | number | boolean): string {
    const f = this.f;
    if (typeof expected === 'number')
      return `coalesce(${this.number(v)} = ${this.param(expected, f.doubleParam)}, false)`;
    if (typeof expected === 'boolean') return `coalesce(${expected ? f.isTrue(v) : f.isFalse(v)}, false)`;
    return `coalesce(${f.isString(v)} and ${f.text(v)} = ${this.param(expected, f.textParam)}, false)`;
  }

  /** toNumber of the value bound in `v`: a double or NULL. */
  private number(v: string): string {
    const f = this.f;
    const s = f.text(v);
    return `(case when ${f.isString(v)} then (case when ${f.isDecimal(s)} then ${f.decimalToDouble(s)} end) else ${f.jsonNumber(v)} end)`;
  }

  /** toDate of the value bound in `v`: ms since the epoch or NULL. */
  private date(v: string): string {
    const f = this.f;
    const int = (from: number, length: number) => `cast(substr(q, ${from}, ${length}) as ${f.intType})`;
    // Zone length: 0 for a date, 1 for `Z`, 6 for `±HH:MM`; the shape is checked first, so every cast reads digits.
    const parts = `select ${int(1, 4)} as y, ${int(6, 2)} as mo, ${int(9, 2)} as d,
        case when l > 10 then ${int(12, 2)} else 0 end as h, case when l > 10 then ${int(15, 2)} else 0 end as mi,
        case when l - zl >= 19 then ${int(18, 2)} else 0 end as s,
        case when l - zl >= 21 then cast(substr(substr(q, 21, l - zl - 20) || '000', 1, 3) as ${f.intType}) else 0 end as ms,
        case when zl = 6 then cast(substr(q, l - 4, 2) as ${f.intType}) else 0 end as oh,
        case when zl = 6 then cast(substr(q, l - 1, 2) as ${f.intType}) else 0 end as om,
        case when zl = 6 and substr(q, l - 5, 1) = '-' then -1 else 1 end as sign
      from (select q, l, case when l = 10 then 0 when substr(q, l, 1) = 'Z' then 1 else 6 end as zl
        from (select q, length(q) as l from (select case when ${f.isString(v)} and ${f.isIsoShape(f.text(v))} then ${f.text(v)} end as q${f.fence}) d0
          where q is not null${f.fence}) d1${f.fence}) d2${f.fence}`;
    const leap = '(y % 4 = 0 and (y % 100 <> 0 or y % 400 = 0))';
    const monthDays = `case when mo = 2 then case when ${leap} then 29 else 28 end when mo in (4, 6, 9, 11) then 30 else 31 end`;
    const valid = `mo between 1 and 12 and d between 1 and ${monthDays} and h <= 23 and mi <= 59 and s <= 59 and oh <= 23 and om <= 59`;
    // Days from 0000-03-01 (H. Hinnant's days_from_civil), integer arithmetic only: the same on both dialects.
    const days = `(era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468)`;
    const civil = `select *, yy - era * 400 as yoe from (select *, case when yy >= 0 then yy else yy - 399 end / 400 as era,
        (153 * (mo + case when mo > 2 then -3 else 9 end) + 2) / 5 + d - 1 as doy
      from (select *, y - case when mo <= 2 then 1 else 0 end as yy from (${parts}) d3${f.fence}) d4${f.fence}) d5${f.fence}`;
    const millis = `${days} * 86400000 + h * 3600000 + mi * 60000 + s * 1000 + ms - sign * (oh * 60 + om) * 60000`;
    return `(select case when ${valid} then ${millis} end from (${civil}) d6)`;
  }
}

const SQL_OP = { equals: '=', not_equals: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
