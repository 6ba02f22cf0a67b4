import { open } from 'node:fs/promises';

/** The delimiters auto-detection chooses from, in tie-break order. */
export const CANDIDATE_DELIMITERS = [',', ';', '\t'] as const;
const HEAD_BYTES = 64 * 1024;

/**
 * Guesses a CSV delimiter from the header line: whichever of `,`, `;` and tab occurs most often outside quotes.
 * Ties and a line with none of them (a one-column file) give `,`.
 */
export function detectDelimiter(headerLine: string, quote = '"'): string {
  const counts = new Map<string, number>();
  let quoted = false;
  for (const ch of headerLine) {
    if (quote !== '' && ch === quote) quoted = !quoted;
    else if (!quoted) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best: string = CANDIDATE_DELIMITERS[0];
  for (const candidate of CANDIDATE_DELIMITERS) {
    if ((counts.get(candidate) ?? 0) > (counts.get(best) ?? 0)) best = candidate;
  }
  return best;
}

/**
 * The first line of a file (up to its first 64 KiB), decoded with `encoding` (or UTF-16LE when the file starts with
 * that BOM), without any BOM or line ending.
 */
export async function readHeaderLine(path: string, encoding: BufferEncoding = 'utf8'): Promise<string> {
  const file = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await file.read(buf, 0, HEAD_BYTES, 0);
    const head = buf.subarray(0, bytesRead);
    const utf16 = head[0] === 0xff && head[1] === 0xfe;
    const text = head.toString(utf16 ? 'utf16le' : encoding).replace(/^\uFEFF/, '');
    return text.split(/\r\n|\n|\r/, 1)[0] ?? '';
  } finally {
    await file.close();
  }
}
