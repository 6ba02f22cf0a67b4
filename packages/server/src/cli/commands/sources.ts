import pino from 'pino';
import { createApp } from '../../app.js';
import { runningServer } from '../lock.js';
import { type CommonOptions, configFrom } from '../options.js';
import { serverClient } from '../server-client.js';

interface SourceOut {
  id: string;
  name: string;
  kind: string;
  writeKey?: string;
}

/** What the command does, against the store or against a running server's API. */
interface SourceOps {
  list(): Promise<SourceOut[]>;
  create(name: string, kind: 'tracking' | 'webhook' | 'import'): Promise<SourceOut>;
  rotateKey(name: string): Promise<SourceOut>;
  close(): Promise<void>;
}

/**
 * `tessera sources list | create NAME | rotate-key NAME`. Keys are printed once. When a server serves the data
 * directory, the command goes through its API (DESIGN §9), so the server sees a rotation at once.
 */
export async function sourcesCommand(
  action: string,
  name: string | undefined,
  opts: CommonOptions & { json?: boolean; kind?: string },
): Promise<void> {
  if (action !== 'list' && action !== 'create' && action !== 'rotate-key') {
    throw new Error(`unknown action "${action}" (list, create, rotate-key)`);
  }
  if (action !== 'list' && !name) throw new Error(`sources ${action} needs a NAME`);
  const config = configFrom(opts);
  const server = config.databaseUrl ? undefined : runningServer(config.dataDir);
  const ops = server ? await viaServer(config, server.url) : await viaStore(config);
  const out = (v: unknown, text: string) => process.stdout.write(opts.json ? `${JSON.stringify(v)}\n` : `${text}\n`);
  try {
    if (action === 'list') {
      const items = await ops.list();
      out(items, items.map((s) => `${s.id}  ${s.kind.padEnd(8)}  ${s.name}`).join('\n') || '(no sources)');
    } else {
      const kind = opts.kind === 'webhook' || opts.kind === 'import' ? opts.kind : 'tracking';
      const r = action === 'create' ? await ops.create(name as string, kind) : await ops.rotateKey(name as string);
      out(r, `${r.id} ${r.name}\nwrite key: ${r.writeKey}`);
    }
  } finally {
    await ops.close();
  }
}

async function viaStore(config: ReturnType<typeof configFrom>): Promise<SourceOps> {
  const app = await createApp(config, { pipeline: false, logger: pino({ level: 'silent' }) });
  return {
    list: () => app.sources.list(),
    async create(name, kind) {
      const r = await app.sources.create({ name, kind });
      return { ...r.source, writeKey: r.writeKey };
    },
    async rotateKey(name) {
      const r = await app.sources.rotateKey(name);
      return { ...r.source, writeKey: r.writeKey };
    },
    close: () => app.close(),
  };
}

async function viaServer(config: ReturnType<typeof configFrom>, url: string): Promise<SourceOps> {
  const { call } = await serverClient(config, url, 'tessera sources');
  const ok = async (
    answer: Promise<{ status: number; body: Record<string, unknown> & { error?: { message: string } } }>,
  ) => {
    const { status, body } = await answer;
    if (status >= 400) throw new Error(`the server at ${url} answered ${status}: ${body.error?.message ?? ''}`);
    return body;
  };
  return {
    list: async () => (await ok(call('GET', '/v1/sources'))).items as SourceOut[],
    create: async (name, kind) => (await ok(call('POST', '/v1/sources', { name, kind }))) as unknown as SourceOut,
    rotateKey: async (name) =>
      (await ok(call('POST', `/v1/sources/${encodeURIComponent(name)}/rotate-key`))) as unknown as SourceOut,
    close: async () => {},
  };
}
