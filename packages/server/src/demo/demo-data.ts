import type { DemoSourceName } from './demo-sources.js';

/** Options of {@link generateDemo}. */
export interface DemoOptions {
  /** Seed of the pseudo-random generator: the same seed, people and `now` give the same data. Default 1. */
  seed?: number;
  /** Number of people in the ground truth (at least 4, for the tricky records). Default 200. */
  people?: number;
  /** End of the 90-day window the timestamps are spread over. Default: the current time. */
  now?: Date;
  /**
   * Region the receiving instance assumes for phone numbers written without a country code (the identity rules'
   * `defaultPhoneRegion`, `US` by default). Only numbers of this region are ever written in national format, so that
   * every variant still normalises to the person's E.164 number. Default `US`.
   */
  phoneRegion?: 'US' | 'FR';
}

/** A tracking source to create before sending the calls. */
export interface DemoSource {
  name: DemoSourceName;
  kind: 'tracking';
}

/** One Segment-spec call, with the source whose write key sends it. */
export interface DemoCall {
  source: DemoSourceName;
  /** The call body: `type`, `messageId`, ISO `timestamp`, `userId` and / or `anonymousId`, and the type's fields. */
  call: Record<string, unknown>;
}

/** One real person behind the calls: the expected golden record, for tests and benchmarks. */
export interface DemoPerson {
  /** Stable key of the person inside the data set (`person-0001`). */
  key: string;
  /** Normalised e-mail (trimmed, lower case). Two people share one on purpose (see {@link DemoTricky}). */
  email: string;
  /** Phone number in E.164 (`+33612345678`), unique per person. */
  phone: string;
  firstName: string;
  lastName: string;
  /** Set for people who log in on the website or the app. */
  userId?: string;
  /** Set for people present in the CRM export (`CRM-000123`). */
  crmId?: string;
}

/** Where the deliberately tricky records are, so tests can check the identity engine got them right. */
export interface DemoTricky {
  /** One tablet (one anonymousId) used by two family members who log in in turn: they must stay two profiles. */
  sharedDevice: { anonymousId: string; userIds: [string, string] };
  /** A blocked placeholder e-mail typed at the till and in a newsletter form: it must never join anyone. */
  blockedEmail: { value: string; messageIds: string[] };
  /** A second user id whose sign-up reuses someone else's e-mail: it must stay a separate profile. */
  reusedEmail: { email: string; ownerUserId: string; otherUserId: string };
}

/** The demo data set returned by {@link generateDemo}. */
export interface DemoData {
  sources: DemoSource[];
  /** Calls in chronological order (ascending `timestamp`, then `messageId` order). */
  calls: DemoCall[];
  people: DemoPerson[];
  tricky: DemoTricky;
}
