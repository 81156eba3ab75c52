import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redact } from '../secrets.js';
import { eventsOf, readJournal } from './journal.js';
import type { Manifest } from './manifest.js';
import type { Store } from './location.js';

/*
 * A manifest carries the sha256 of its own canonical form, and the journal records
 * the sha256 of the file when it is written: an edited manifest goes unnoticed only
 * if both files are forged. This catches accidents and careless edits; it is not a
 * signature against someone who can write the store.
 */

export const MANIFEST_FILE = 'manifest.json';

/** The manifest as written (secrets removed from its strings, its checksum added), its text, and the text's sha256. */
export function sealManifest(manifest: Manifest): { manifest: Manifest; text: string; sha256: string } {
  const { checksum: _old, ...content } = redactStrings(manifest) as Manifest;
  const sealed: Manifest = { ...content, checksum: manifestChecksum(content) };
  const text = `${JSON.stringify(sealed, null, 2)}\n`;
  return { manifest: sealed, text, sha256: sha256(text) };
}

/** sha256 of the manifest without its `checksum`, keys sorted at every level, no whitespace. */
export function manifestChecksum(value: Record<string, unknown>): string {
  const { checksum: _own, ...content } = value;
  return sha256(canonicalJson(content));
}

export interface ManifestCheck {
  /** What was checked, in words. */
  checks: string[];
  /** What failed; empty when the manifest is as written. */
  problems: string[];
}

/** The manifest file on disk against its own checksum and against the journal's record of it. */
export async function checkManifestFile(store: Store, dir: string, id: string): Promise<ManifestCheck> {
  const text = await readFile(join(dir, MANIFEST_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return { checks: [], problems: [`${MANIFEST_FILE} is missing`] };
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { checks: [], problems: [`${MANIFEST_FILE} is not valid JSON`] };
  }
  const checks: string[] = [];
  const problems: string[] = [];
  if (typeof value.checksum !== 'string') checks.push(`${MANIFEST_FILE}: no checksum (written by an older Lifeboat)`);
  else if (value.checksum !== manifestChecksum(value)) problems.push(`${MANIFEST_FILE} does not match its own checksum: it was changed after it was written`);
  else checks.push(`${MANIFEST_FILE} matches its checksum`);

  const recorded = eventsOf(await readJournal(store), 'snapshot')
    .filter((e) => e.snapshot === id)
    .flatMap((e) => (e.manifestSha256 === undefined ? [] : [e.manifestSha256]));
  const actual = sha256(text);
  if (recorded.some((r) => r !== actual)) {
    problems.push(`${MANIFEST_FILE} is not the one the journal recorded when the snapshot was written: it was changed since`);
  } else if (recorded.length > 0) {
    checks.push(`${MANIFEST_FILE} is the one the journal recorded`);
  } else if (typeof value.checksum === 'string') {
    checks.push(`the journal has no record of ${MANIFEST_FILE} (the journal was edited or lost, or the snapshot came from another store)`);
  }
  return { checks, problems };
}

/** Redacting each string, not the JSON text: a password that looks like a number must not break the document. */
function redactStrings(value: unknown): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map(redactStrings);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, redactStrings(v)]),
    );
  }
  return value;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    return `{${Object.keys(object)
      .filter((key) => object[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
