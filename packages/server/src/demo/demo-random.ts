import { base, en, Faker, fr } from '@faker-js/faker';

/** Seeded sources of randomness shared by every stage of the generator. */
export interface DemoRandom {
  /** English-locale faker (products, companies, user agents, US people). */
  faker: Faker;
  /** French-locale faker (French people's names and cities). */
  fakerFr: Faker;
  /** `true` with probability `p`. */
  chance(p: number): boolean;
  /** Integer in `[min, max]`, both included. */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

/**
 * Creates the generator's randomness from a seed. Faker's relative dates are anchored at `now` so that nothing
 * depends on the wall clock: the same seed and `now` always give the same values in the same order.
 */
export function createDemoRandom(seed: number, now: Date): DemoRandom {
  const faker = new Faker({ locale: [en, base] });
  faker.seed(seed);
  faker.setDefaultRefDate(now);
  const fakerFr = new Faker({ locale: [fr, en, base] });
  fakerFr.seed(seed + 7919);
  fakerFr.setDefaultRefDate(now);
  return {
    faker,
    fakerFr,
    chance: (p) => faker.number.float({ min: 0, max: 1 }) < p,
    int: (min, max) => faker.number.int({ min, max }),
    pick: (items) => faker.helpers.arrayElement(items),
  };
}
