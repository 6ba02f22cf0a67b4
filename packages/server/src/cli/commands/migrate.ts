import { mkdirSync } from 'node:fs';
import { openStorage } from '../../app.js';
import { type CommonOptions, configFrom } from '../options.js';

/** `tessera migrate`: brings the schema (SQLite or PostgreSQL) to the latest migration, nothing else. */
export async function migrateCommand(opts: CommonOptions & { json?: boolean }): Promise<void> {
  const config = configFrom(opts);
  if (!config.databaseUrl) mkdirSync(config.dataDir, { recursive: true });
  const storage = await openStorage(config);
  try {
    const applied = await storage.migrate();
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ applied })}\n`
        : `${applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date'}\n`,
    );
  } finally {
    await storage.close();
  }
}
