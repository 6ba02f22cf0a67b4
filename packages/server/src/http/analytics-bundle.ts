import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** One file of analytics-next's browser build, ready to send. */
export interface BundleFile {
  /** `text/javascript` or, for a source map, `application/json`. */
  type: string;
  body: Buffer;
  /** The precompressed copy the package ships (`<name>.gz`), if any. */
  gzip: Buffer | undefined;
  /** Weak validator: package version and file name (the files never change within a version). */
  etag: string;
  /** Content-hashed chunk (`ajs-destination.bundle.<hash>.js`): cacheable forever. */
  immutable: boolean;
}

/** The browser build of `@segment/analytics-next` (`dist/umd`), served so that no page needs Segment's CDN. */
export interface AnalyticsBundle {
  /** The installed analytics-next version, or undefined when the package cannot be found. */
  readonly version: string | undefined;
  /**
   * A file of `dist/umd` by its bare name (`standalone.js`, `<chunk>.bundle.<hash>.js`, their `.map`). Only names
   * listed in that folder are known: anything else (a path, `..`, a `.gz`) answers undefined.
   */
  file(name: string): BundleFile | undefined;
}

const HASHED = /\.bundle\.[0-9a-f]{16,}\.js(\.map)?$/;
const SERVED = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.js(\.map)?$/;

/**
 * Finds analytics-next's `dist/umd` through Node's resolution (the package is a dependency of the server) and lists
 * its files once; contents are read on first use and kept (about 300 KB in all).
 */
export function createAnalyticsBundle(): AnalyticsBundle {
  let dir: string | undefined;
  let version: string | undefined;
  try {
    const pkg = createRequire(import.meta.url).resolve('@segment/analytics-next/package.json');
    dir = path.join(path.dirname(pkg), 'dist', 'umd');
    version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version;
  } catch {
    dir = undefined;
  }
  const names = new Set(dir && existsSync(dir) ? readdirSync(dir).filter((n) => SERVED.test(n)) : []);
  const loaded = new Map<string, BundleFile>();
  return {
    version: names.size > 0 ? version : undefined,
    file(name) {
      if (!dir || !names.has(name)) return undefined;
      let f = loaded.get(name);
      if (!f) {
        const full = path.join(dir, name);
        f = {
          type: name.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8',
          body: readFileSync(full),
          gzip: existsSync(`${full}.gz`) ? readFileSync(`${full}.gz`) : undefined,
          etag: `W/"ajs-${version ?? '0'}-${name}"`,
          immutable: HASHED.test(name),
        };
        loaded.set(name, f);
      }
      return f;
    },
  };
}
