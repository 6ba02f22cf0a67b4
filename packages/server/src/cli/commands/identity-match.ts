import { readFileSync, writeFileSync } from 'node:fs';
import type { MatchConfig } from '@tessera/protocol';
import {
  type MatchRecord,
  type MatchResult,
  matchRecords,
  type PairwiseScore,
  pairwiseScore,
  parseMatchConfig,
} from '../../identity/matching/index.js';
import { readRecords } from '../../imports/index.js';
import { phaseProgress } from '../phase-progress.js';

export interface MatchFileOptions {
  config: string;
  idColumn: string;
  truthColumn?: string;
  truthRegex?: string;
  out?: string;
  json?: boolean;
  progress?: boolean;
}

/** Records of one or two files, without their id and truth columns (the matcher never sees those). */
export interface LoadedFiles {
  records: MatchRecord[];
  ids: string[];
  truth: (string | null)[] | undefined;
  side: Uint8Array | undefined;
}

/**
 * Reads CSV (or NDJSON / JSON) files for matching. Header names and values are trimmed (FEBRL-style files put a
 * space after each comma). With two files, ids are prefixed `a:` / `b:`.
 *
 * @throws Error naming the file and line of a malformed row, a missing id or truth column, or a repeated id.
 */
export async function loadMatchFiles(
  files: readonly string[],
  opts: { idColumn: string; truthColumn?: string; truthRegex?: string },
): Promise<LoadedFiles> {
  if (files.length < 1 || files.length > 2) throw new Error('give one file (deduplicate) or two (link)');
  const regex = opts.truthRegex === undefined ? undefined : compileRegex(opts.truthRegex);
  const records: MatchRecord[] = [];
  const ids: string[] = [];
  const truth: (string | null)[] | undefined = opts.truthColumn === undefined ? undefined : [];
  const sides: number[] = [];
  const seen = new Set<string>();
  for (const [f, file] of files.entries()) {
    const prefix = files.length === 2 ? (f === 0 ? 'a:' : 'b:') : '';
    let checked = false;
    for await (const item of readRecords(file)) {
      if (!item.record) throw new Error(`${file}: line ${item.line}: ${item.error}`);
      const record: Record<string, string> = {};
      for (const [k, v] of Object.entries(item.record))
        record[k.trim()] = v === null || v === undefined ? '' : String(v).trim();
      if (!checked) {
        for (const column of [opts.idColumn, opts.truthColumn]) {
          if (column !== undefined && !(column in record))
            throw new Error(`${file}: no column "${column}" (columns: ${Object.keys(record).join(', ')})`);
        }
        checked = true;
      }
      const id = record[opts.idColumn];
      if (id === '') throw new Error(`${file}: line ${item.line}: empty ${opts.idColumn}`);
      if (seen.has(prefix + id)) throw new Error(`${file}: line ${item.line}: ${opts.idColumn} "${id}" is repeated`);
      seen.add(prefix + id);
      ids.push(prefix + id);
      if (truth && opts.truthColumn !== undefined) {
        const raw = record[opts.truthColumn];
        const m = regex ? regex.exec(raw) : undefined;
        truth.push(regex ? (m ? (m[1] ?? m[0]) : null) : raw === '' ? null : raw);
      }
      delete record[opts.idColumn];
      if (opts.truthColumn !== undefined) delete record[opts.truthColumn];
      records.push(record);
      sides.push(f);
    }
  }
  return { records, ids, truth, side: files.length === 2 ? Uint8Array.from(sides) : undefined };
}

function compileRegex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (e) {
    throw new Error(`--truth-regex: ${(e as Error).message}`);
  }
}

export function readMatchConfig(arg: string): MatchConfig | 'auto' {
  if (arg === 'auto') return 'auto';
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(arg, 'utf8'));
  } catch (e) {
    throw new Error(`${arg}: ${(e as Error).message}`);
  }
  try {
    return parseMatchConfig(json);
  } catch (e) {
    throw new Error(`${arg}: ${(e as Error).message}`);
  }
}

/** `{"<recordId>": "<clusterId>"}`; a cluster is named after its first record. */
export function clustersJson(ids: readonly string[], result: MatchResult): Record<string, string> {
  const names = new Map<number, string>();
  const out: Record<string, string> = {};
  for (let i = 0; i < ids.length; i++) {
    const c = result.cluster[i];
    let name = names.get(c);
    if (name === undefined) {
      name = `c${names.size}`;
      names.set(c, name);
    }
    out[ids[i]] = name;
  }
  return out;
}

async function run(
  files: string[],
  opts: MatchFileOptions,
): Promise<{ loaded: LoadedFiles; result: MatchResult; seconds: number }> {
  const config = readMatchConfig(opts.config);
  const loaded = await loadMatchFiles(files, opts);
  const started = performance.now();
  const result = matchRecords(loaded.records, config, {
    side: loaded.side,
    onProgress: phaseProgress(opts, 'clustering'),
  });
  const seconds = (performance.now() - started) / 1000;
  if (opts.out) writeFileSync(opts.out, `${JSON.stringify(clustersJson(loaded.ids, result))}\n`);
  return { loaded, result, seconds };
}

function summaryOf(result: MatchResult, seconds: number) {
  const s = result.stats;
  return {
    records: s.records,
    candidatePairs: s.candidatePairs,
    merged: s.autoMerged,
    review: s.review,
    clusters: s.clusters,
    skippedBlocks: s.skippedBlocks.length,
    seconds: Math.round(seconds * 100) / 100,
    emIterations: result.model.emIterations,
    lambda: result.model.lambda,
  };
}

/** `tessera identity match FILE [FILE2] --config MATCH.json|auto --id-column C --out clusters.json` */
export async function identityMatchCommand(files: string[], opts: MatchFileOptions): Promise<void> {
  const { result, seconds } = await run(files, opts);
  const summary = summaryOf(result, seconds);
  if (opts.json) process.stdout.write(`${JSON.stringify({ ...summary, model: result.model })}\n`);
  else {
    process.stdout.write(
      `${summary.records} records, ${summary.candidatePairs} pairs compared, ${summary.merged} merges, ` +
        `${summary.review} pairs for review, ${summary.clusters} clusters in ${summary.seconds} s` +
        `${opts.out ? ` → ${opts.out}` : ''}\n`,
    );
    warnSkipped(result);
  }
}

/** `tessera identity evaluate FILE [FILE2] --config … --id-column C --truth-column C [--truth-regex RE]` */
export async function identityEvaluateCommand(files: string[], opts: MatchFileOptions): Promise<void> {
  if (!opts.truthColumn) throw new Error('evaluate needs --truth-column');
  const { loaded, result, seconds } = await run(files, opts);
  const score = pairwiseScore(result.cluster, loaded.truth ?? [], loaded.side);
  const summary = { ...summaryOf(result, seconds), ...score };
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else {
    process.stdout.write(formatScore(score, summary.records, seconds));
    warnSkipped(result);
  }
}

export function formatScore(score: PairwiseScore, records: number, seconds: number): string {
  const pct = (x: number) => x.toFixed(4);
  return (
    `records ${records}, true pairs ${score.truePairs}, predicted pairs ${score.predictedPairs}, ` +
    `correct ${score.truePositives} (${seconds.toFixed(2)} s)\n` +
    `precision ${pct(score.precision)}  recall ${pct(score.recall)}  F1 ${pct(score.f1)}\n`
  );
}

function warnSkipped(result: MatchResult): void {
  const skipped = result.stats.skippedBlocks;
  if (skipped.length === 0) return;
  const top = [...skipped].sort((a, b) => b.size - a.size).slice(0, 3);
  process.stderr.write(
    `${skipped.length} blocks over maxBlockSize were skipped (largest: ${top
      .map((b) => `rule ${b.rule} "${b.key}" ${b.size}`)
      .join(', ')}); narrow those rules to compare them\n`,
  );
}
