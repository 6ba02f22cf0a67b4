import type { DemoRandom } from './demo-random.js';

/** Reserved example domains (RFC 2606), so that no demo address can reach a real mailbox. */
const DOMAINS = ['example.com', 'example.net', 'example.org'] as const;

function ascii(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/**
 * A lower-case e-mail built from the person's name (`jane.doe@example.com`, `jdoe42@example.org`…), not yet in
 * `used`, which it is added to.
 */
export function uniqueEmail(rnd: DemoRandom, firstName: string, lastName: string, used: Set<string>): string {
  const [f, l] = [ascii(firstName) || 'customer', ascii(lastName) || 'shopper'];
  const local = rnd.pick([`${f}.${l}`, `${f}${l}`, `${f[0]}${l}`, `${f}.${l}${rnd.int(1, 99)}`, `${f}_${l}`]);
  const domain = rnd.pick(DOMAINS);
  let email = `${local}@${domain}`;
  for (let n = 2; used.has(email); n++) email = `${local}${n}@${domain}`;
  used.add(email);
  return email;
}
