import { uuidv7 } from 'uuidv7';

/** A new time-ordered UUID (v7), bare: the storage form. Prefixes are added at the API boundary (protocol ids). */
export function newUuid(): string {
  return uuidv7();
}
