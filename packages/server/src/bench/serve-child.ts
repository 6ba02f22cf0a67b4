import pino from 'pino';
import { createApp } from '../app.js';
import { loadConfig } from '../config.js';

/** A Tessera server for the benchmarks: prints `{"port", "writeKey", "token"}` on stdout once listening. */
const app = await createApp(loadConfig(process.env, { port: 0, logLevel: 'error' }), {
  logger: pino({ level: 'error' }),
});
const { writeKey } = await app.sources.create({ name: `bench-${Date.now()}` });
const { token } = await app.tokens.create('bench', ['admin']);
const url = await app.listen();
process.stdout.write(`${JSON.stringify({ port: Number(new URL(url).port), writeKey, token })}\n`);
process.once('SIGTERM', () => {
  app.close().then(() => process.exit(0));
});
