import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Reads the instance secret, or makes it once (lazily: only erasures and suppression checks need it). */
export type SecretProvider = () => Buffer;

/**
 * The instance secret keying the suppression list's HMACs (DESIGN §8): `TESSERA_INSTANCE_SECRET` (hex, at least 32
 * bytes: every node of a cluster must share it), else `<data dir>/instance.key`, created on first use with mode 0600
 * (32 random bytes, hex). It is never stored in the database: a copy of the database alone cannot tell which
 * identifiers were erased.
 */
export function instanceSecret(opts: { secret?: string; dataDir: string; memory?: boolean }): SecretProvider {
  let cached: Buffer | undefined;
  return () => {
    if (cached) return cached;
    let value: Buffer;
    if (opts.secret) value = Buffer.from(opts.secret, 'hex');
    else if (opts.memory) value = randomBytes(32);
    else {
      const file = path.join(opts.dataDir, 'instance.key');
      try {
        value = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        mkdirSync(opts.dataDir, { recursive: true });
        const fresh = randomBytes(32);
        try {
          writeFileSync(file, `${fresh.toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
          chmodSync(file, 0o600);
          value = fresh;
        } catch (err) {
          // Another process made it first.
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          value = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
        }
      }
    }
    if (value.length < 32) throw new Error('the instance secret must be at least 32 bytes (64 hex digits)');
    cached = value;
    return value;
  };
}
