import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * A deterministic message id from its parts, shaped as a UUID (version 8, RFC 9562 §5.8, from SHA-256 as in its
 * appendix B.2). File imports use `[sourceId, fileIdentity, String(line)]`, so importing the same file into the same
 * source again gives the same ids and the pipeline's exact dedup drops every row it already has. Parts are
 * length-prefixed before hashing, so `['ab', 'c']` and `['a', 'bc']` differ.
 */
export function deriveMessageId(parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(`${Buffer.byteLength(part)}:${part};`);
  const bytes = hash.digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The identity of an import file: the hex SHA-256 of its whole content, streamed (constant memory).
 * It ignores the path and the modification time, so the same file imported from another directory or under
 * another name dedups too. Any change of content is a new file: rows of a file that grew since the last import get
 * new derived ids, so for append-only exports map `messageId` to a stable column (an order id) instead.
 */
export async function fileIdentity(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
