import type { DemoRandom } from './demo-random.js';

function capitalise(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** Each form keeps the address equal to the original once trimmed and lower-cased. */
const FORMS: readonly ((email: string) => string)[] = [
  (e) => e.toUpperCase(),
  (e) => {
    const [local, domain] = e.split('@');
    const [name, tld] = [domain.slice(0, domain.lastIndexOf('.')), domain.slice(domain.lastIndexOf('.') + 1)];
    return `${local.split('.').map(capitalise).join('.')}@${capitalise(name)}.${tld.toUpperCase()}`;
  },
  (e) => `  ${e} `,
  (e) => ` ${capitalise(e)}`,
  (e) => `${e}\t`,
];

/**
 * The e-mail as it arrives from a till, a CRM export or a form: upper case, capitalised parts, surrounding spaces
 * (`'  Jane.Doe@Example.COM '`). Trimming and lower-casing the result gives back `email` (which must be lower case).
 */
export function emailVariant(rnd: DemoRandom, email: string): string {
  const form = rnd.pick(FORMS);
  const once = form(email);
  return rnd.chance(0.3) ? `  ${once.trim()} ` : once;
}
