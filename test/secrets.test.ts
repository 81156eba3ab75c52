import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listFiles } from '../packages/core/src/store/files.js';
import { databases, json, lifeboat, passwordOf, query } from './support/db.js';
import { s3Remote, TEST_AWS_SECRET, writeConfig } from './support/remote.js';

/**
 * The URL's password must never leave Lifeboat: not in output, --json, errors,
 * --debug, manifests or the journal, whatever the command and however it ends.
 */
describe('no password from a URL appears anywhere', () => {
  const dbs = databases();
  let url: string;
  let password: string;
  let store: string;
  const outputs: string[] = [];

  beforeAll(async () => {
    const db = await dbs.create('secret');
    await query(db.url, `create table notes (id serial primary key, body text); insert into notes (body) values ('hello');`);
    // With a trust-auth TEST_DATABASE_URL the server ignores it, but Lifeboat still holds it.
    url = passwordOf(db.url) === '' ? Object.assign(new URL(db.url), { password: 's3cr3t-Pa55' }).toString() : db.url;
    password = passwordOf(url);
    expect(password.length).toBeGreaterThan(4);
    store = await mkdtemp(join(tmpdir(), 'lifeboat-store-'));
  });

  const run = async (args: string[], urlOverride = url) => {
    const result = await lifeboat([...args, '--store', store], { url: urlOverride });
    outputs.push(result.stdout, result.stderr);
    return result;
  };

  it('through successful commands, with --json and --debug', async () => {
    for (const strategy of ['dump', 'clone']) {
      expect((await run(['snapshot', '--strategy', strategy, '--debug'])).exitCode).toBe(0);
      expect((await run(['snapshot', '--strategy', strategy, '--json', '--debug'])).exitCode).toBe(0);
    }
    const list = await run(['list', '--json']);
    for (const snapshot of json(list).snapshots) {
      expect((await run(['verify', snapshot.id, '--debug'])).exitCode).toBe(0);
    }
    expect((await run(['restore', 'latest', '--yes', '--debug', '--json'])).exitCode).toBe(0);
    expect((await run(['prune', '--keep', '1', '--yes', '--debug'])).exitCode).toBe(0);
  });

  it('through failing commands and their --debug stack traces', async () => {
    const missing = url.replace(/\/[^/]*$/, '/no_such_database');
    expect((await run(['snapshot', '--debug'], missing)).exitCode).toBe(7);
    expect((await run(['snapshot', '--debug', '--json'], missing)).exitCode).toBe(7);
    const unreachable = Object.assign(new URL(url), { port: '1' }).toString();
    expect((await run(['snapshot', '--debug'], unreachable)).exitCode).toBe(5);
    expect((await run(['restore', 'nope', '--yes', '--debug'])).exitCode).toBe(12);
    // A password in a malformed URL is still never echoed.
    expect((await run(['snapshot', '--debug'], `postgres://postgres:${password}@127.0.0.1:notaport/db`)).exitCode).toBe(4);
    // A corrupted snapshot refused by restore.
    const taken = json(await run(['snapshot', '--strategy', 'dump', '--json']));
    const manifestPath = join(store, 'snapshots', taken.id, 'manifest.json');
    await writeFile(join(store, 'snapshots', taken.id, 'data.dump'), 'garbage');
    expect((await run(['restore', taken.id, '--yes', '--debug'])).exitCode).toBe(13);
    expect(await readFile(manifestPath, 'utf8')).not.toContain(password);
  });

  // Off-site: the AWS secret (from the SDK's chain) and an encryption passphrase, through every remote command.
  const passphrase = 'correct-Horse-battery-staple-42';
  it('through the remote commands: S3 credentials and an encryption passphrase', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-secrets-remote-'));
    const remote = s3Remote('secrets', { push: 'always' });
    await writeConfig(dir, { remote: remote.config, encryption: { passphraseEnv: 'LB_TEST_PASSPHRASE' } });
    const env = { ...remote.env, LB_TEST_PASSPHRASE: passphrase };
    const runRemote = async (args: string[], extra: Record<string, string> = {}) => {
      const result = await lifeboat([...args, '--store', store, '--config', join(dir, 'lifeboat.config.json')], { url, env: { ...env, ...extra } });
      outputs.push(result.stdout, result.stderr);
      return result;
    };
    const taken = await runRemote(['snapshot', '--strategy', 'dump', '--json', '--debug']);
    expect(taken.exitCode, taken.stderr).toBe(0);
    expect(json(taken).push.ok).toBe(true);
    expect((await runRemote(['list', '--remote', '--json', '--debug'])).exitCode).toBe(0);
    expect((await runRemote(['verify', '--remote', '--deep', '--debug'])).exitCode).toBe(0);
    const copy = `${new URL(url).pathname.slice(1)}_from_remote`;
    dbs.track(copy);
    expect((await runRemote(['restore', 'latest', '--from-remote', '--to', copy, '--json', '--debug'])).exitCode).toBe(0);
    expect((await runRemote(['list', '--remote', '--debug'], { AWS_ACCESS_KEY_ID: 'AKIAREFUSED000' })).exitCode).toBe(34);
    expect((await runRemote(['restore', 'latest', '--from-remote', '--to', `${copy}_2`, '--debug', '--json'], { LB_TEST_PASSPHRASE: 'not-the-passphrase-at-all' })).exitCode).toBe(35);
    expect((await runRemote(['status', '--json', '--debug'])).exitCode).toBe(0);
  });

  it('in what was printed and what the store holds', async () => {
    expect(outputs.join('\n').length).toBeGreaterThan(1000);
    expect(outputs.join('\n')).toContain('debug: connect postgres://postgres:***@');
    expect(outputs.join('\n')).toContain('debug: s3: upload');
    for (const text of outputs) {
      expect(text).not.toContain(password);
      if (TEST_AWS_SECRET) expect(text).not.toContain(TEST_AWS_SECRET);
      expect(text).not.toContain(passphrase);
    }
    for (const file of await listFiles(store)) {
      if (file.endsWith('.dump')) continue; // the database's own data
      const content = await readFile(join(store, file), 'utf8');
      expect(content, file).not.toContain(password);
      expect(content, file).not.toContain(encodeURIComponent(password));
      expect(content, file).not.toContain(TEST_AWS_SECRET);
      expect(content, file).not.toContain(passphrase);
    }
  });
});
