import { mkdirSync } from 'node:fs';
import pino from 'pino';
import { createApp } from '../../app.js';
import { type CommonOptions, configFrom } from '../options.js';

/** Creates the data directory and schema, a `default` source and an admin token; prints both secrets once. */
export async function initCommand(opts: CommonOptions & { json?: boolean }): Promise<void> {
  const config = configFrom(opts);
  mkdirSync(config.dataDir, { recursive: true });
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  try {
    const existing = await app.storage.sources.byName('default');
    const { writeKey } = existing
      ? await app.sources.rotateKey('default')
      : await app.sources.create({ name: 'default' });
    const { token } = await app.tokens.create('admin (tessera init)', ['admin']);
    if (opts.json) process.stdout.write(`${JSON.stringify({ writeKey, adminToken: token })}\n`);
    else {
      process.stdout.write(`Initialised ${config.dataDir}\n`);
      process.stdout.write(
        `write key (source "default"): ${writeKey}\nadmin token: ${token}\nKeep them: they are stored hashed and cannot be shown again.\n`,
      );
    }
  } finally {
    await app.close();
  }
}
