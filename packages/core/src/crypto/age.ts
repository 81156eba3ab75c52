import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { LifeboatError } from '../errors.js';
import { registerSecret } from '../secrets.js';

/**
 * age encryption (https://age-encryption.org, the `age-encryption` package by age's
 * author) of every file that leaves the machine. Files are age files as the `age` and
 * `rage` CLIs write them, so a copy can be decrypted without Lifeboat:
 * `age -d -i key.txt data.dump.age > data.dump`.
 */
export interface EncryptionSettings {
  /** age1… public keys: anyone may encrypt, only the identities can decrypt. */
  recipients: string[];
  /** Instead of recipients: the environment variable holding a passphrase (scrypt). */
  passphraseEnv?: string;
  /** The identity (AGE-SECRET-KEY-1…) file, for restoring. */
  identityFile?: string;
  /** The environment variable that may hold the identity instead. */
  identityEnv: string;
  /** Dump snapshots in the local store are encrypted too, not only what is pushed. */
  local?: boolean;
}

/** The suffix of an encrypted object: what the age CLI expects. */
export const AGE_SUFFIX = '.age';

/** What can open an encrypted copy, and where it came from (for messages, never the key itself). */
export interface DecryptionKeys {
  identities: string[];
  passphrase: string | undefined;
  source: string;
}

function keyError(message: string): LifeboatError {
  return new LifeboatError('KEY_MISSING', message, {
    hint: 'Give the identity: encryption.identityFile in lifeboat.config, or the identity in $LIFEBOAT_AGE_IDENTITY (encryption.identityEnv); for a passphrase, set the variable encryption.passphraseEnv names.',
  });
}

function passphraseOf(settings: EncryptionSettings): string | undefined {
  if (!settings.passphraseEnv) return undefined;
  const value = process.env[settings.passphraseEnv];
  registerSecret(value);
  return value === undefined || value === '' ? undefined : value;
}

/** Everything that can decrypt, from the settings and the environment; undefined when there is nothing. */
export async function loadKeys(settings: EncryptionSettings | undefined): Promise<DecryptionKeys | undefined> {
  const envName = settings?.identityEnv ?? 'LIFEBOAT_AGE_IDENTITY';
  const identities: string[] = [];
  const sources: string[] = [];
  const fromEnv = process.env[envName];
  if (fromEnv && fromEnv.trim() !== '') {
    identities.push(...identityLines(fromEnv));
    sources.push(`$${envName}`);
  }
  if (settings?.identityFile) {
    let text: string;
    try {
      text = await readFile(settings.identityFile, 'utf8');
    } catch (error) {
      throw keyError(`The identity file ${settings.identityFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    const found = identityLines(text);
    if (found.length === 0) throw keyError(`The identity file ${settings.identityFile} holds no age identity (AGE-SECRET-KEY-1…).`);
    identities.push(...found);
    sources.push(settings.identityFile);
  }
  for (const identity of identities) registerSecret(identity);
  const passphrase = settings ? passphraseOf(settings) : undefined;
  if (passphrase !== undefined) sources.push(`$${settings!.passphraseEnv}`);
  if (identities.length === 0 && passphrase === undefined) return undefined;
  return { identities, passphrase, source: sources.join(' and ') };
}

/** The identities of an age identity file: one per line, `#` comments. */
function identityLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

export function requireKeys(keys: DecryptionKeys | undefined, what: string): DecryptionKeys {
  if (keys) return keys;
  throw keyError(`${what} is encrypted and no identity or passphrase was given; nothing was changed.`);
}

/** Check the settings can encrypt (recipients parse, the passphrase is set) before anything is uploaded. */
export async function assertCanEncrypt(settings: EncryptionSettings): Promise<void> {
  await encrypter(settings);
}

async function encrypter(settings: EncryptionSettings) {
  const age = await import('age-encryption');
  const e = new age.Encrypter();
  if (settings.passphraseEnv) {
    const passphrase = passphraseOf(settings);
    if (passphrase === undefined) throw keyError(`Encryption uses the passphrase in $${settings.passphraseEnv}, and it is not set; nothing was pushed.`);
    e.setPassphrase(passphrase);
    return e;
  }
  for (const recipient of settings.recipients) {
    try {
      e.addRecipient(recipient);
    } catch (error) {
      throw new LifeboatError('CONFIG_INVALID', `encryption.recipients: "${recipient}" is not an age recipient (${error instanceof Error ? error.message : String(error)}).`, {
        hint: 'Use the public key `age-keygen` prints (age1…), or `age-keygen -y key.txt` for an existing identity.',
      });
    }
  }
  return e;
}

/**
 * That the keys open what the settings encrypt (a few bytes encrypted and decrypted): a
 * guarded deploy learns before it starts that its rollback could read its snapshot.
 */
export async function assertKeysOpen(settings: EncryptionSettings, keys: DecryptionKeys, what: string): Promise<void> {
  const probe = await (await encrypter(settings)).encrypt('lifeboat');
  await decryptText(keys, probe, what);
}

/** The stream, encrypted as it flows (age's STREAM: 64 KiB chunks, each authenticated). */
export async function encryptStream(settings: EncryptionSettings, input: Readable): Promise<Readable> {
  const e = await encrypter(settings);
  const out = await e.encrypt(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
}

/** The stream decrypted as it flows; a wrong key or a damaged chunk is DECRYPT_FAILED, naming `what`. */
export async function decryptStream(keys: DecryptionKeys, input: Readable, what: string): Promise<Readable> {
  const d = await decrypter(keys);
  let out: ReadableStream<Uint8Array>;
  try {
    out = await d.decrypt(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
  } catch (error) {
    throw decryptError(error, keys, what);
  }
  const source = Readable.fromWeb(out as unknown as WebReadableStream<Uint8Array>);
  async function* relabelled() {
    try {
      for await (const chunk of source) yield chunk as Uint8Array;
    } catch (error) {
      throw decryptError(error, keys, what);
    }
  }
  return Readable.from(relabelled(), { objectMode: false });
}

/** A small file (a manifest) decrypted in memory. */
export async function decryptText(keys: DecryptionKeys, bytes: Uint8Array, what: string): Promise<string> {
  const d = await decrypter(keys);
  try {
    return await d.decrypt(bytes, 'text');
  } catch (error) {
    throw decryptError(error, keys, what);
  }
}

async function decrypter(keys: DecryptionKeys) {
  const age = await import('age-encryption');
  const d = new age.Decrypter();
  try {
    for (const identity of keys.identities) d.addIdentity(identity);
  } catch (error) {
    throw new LifeboatError('DECRYPT_FAILED', `The identity from ${keys.source} is not an age identity (${error instanceof Error ? error.message : String(error)}).`, {
      hint: 'An identity is the AGE-SECRET-KEY-1… line `age-keygen` wrote; nothing was changed.',
    });
  }
  if (keys.passphrase !== undefined) d.addPassphrase(keys.passphrase);
  return d;
}

function decryptError(error: unknown, keys: DecryptionKeys, what: string): LifeboatError {
  if (error instanceof LifeboatError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  const wrongKey = /no identity matched|passphrase|scrypt/i.test(detail);
  return new LifeboatError('DECRYPT_FAILED', wrongKey ? `The key from ${keys.source} does not open ${what}: it was encrypted to another key (${detail}).` : `${what} cannot be decrypted: ${detail}.`, {
    hint: wrongKey
      ? 'Use the identity (or passphrase) the snapshot was encrypted to; nothing was changed.'
      : 'The object is damaged or not an age file; use another copy (`lifeboat list --remote`). Nothing was changed.',
    cause: error,
  });
}
