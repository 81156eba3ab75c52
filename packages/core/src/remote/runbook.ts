import type { Settings } from '../config/resolve.js';
import type { DatabaseTarget } from '../db/target.js';
import { relative } from 'node:path';
import { parseRemote } from './url.js';

/**
 * RECOVERY.md's section on the off-site copy: restoring it on a new machine with
 * Lifeboat, and without it (the service's CLI, age, pg_restore), with this project's
 * remote, endpoint and key settings filled in.
 */
export function offsiteRunbook(settings: Settings, target: DatabaseTarget, dir: string): string[] {
  if (!settings.remote) {
    return [
      '## Off-site copy',
      '',
      "**None configured**: every copy is on this machine or on the database server, and is lost with them. Add `remote: { url: 's3://bucket/prefix', push: 'always' }` to lifeboat.config.",
      '',
    ];
  }
  const location = parseRemote(settings.remote);
  const enc = settings.encryption;
  const keyFile = enc?.identityFile ? relative(dir, enc.identityFile) || enc.identityFile : 'key.txt';
  const keyStep = !enc
    ? 'The copies are not encrypted.'
    : enc.passphraseEnv
      ? `The copies are encrypted with a passphrase: set \`${enc.passphraseEnv}\` to it.`
      : `The copies are encrypted (age) to ${enc.recipients.length} recipient(s): put the identity (private key) in ${enc.identityFile ? `\`${keyFile}\` (\`encryption.identityFile\`)` : 'a file named by `encryption.identityFile`'} or in \`$${enc.identityEnv}\`. It is not on the server and not in the bucket: keep it in the team's password manager.`;
  const cp =
    location.kind === 's3'
      ? `aws s3 cp --recursive${location.endpoint ? ` --endpoint-url ${location.endpoint}` : ''} s3://${location.bucket}/${location.prefix ? `${location.prefix}/` : ''}snapshots/<id>/ ./<id>/`
      : `cp -r ${location.root}/snapshots/<id> ./<id>`;
  const suffix = enc ? '.age' : '';
  const decrypt = !enc ? [] : enc.passphraseEnv ? [`age -d -o <id>/data.dump <id>/data.dump.age        # asks for the passphrase`] : [`age -d -i ${keyFile} -o <id>/data.dump <id>/data.dump.age`];
  return [
    '## Restore from the off-site copy on a new machine',
    '',
    `The remote: \`${location.display}\`${settings.remote.push === 'always' ? ', every snapshot pushed as it is taken' : ' (pushed with `lifeboat push`)'}. ${keyStep}`,
    '',
    "1. On any machine with Node.js 20.19+ and the PostgreSQL client tools (`pg_restore` at least as new as the snapshot's server), in an empty folder: this project's `lifeboat.config.*`, and `npm i @lifeboat/core`.",
    location.kind === 's3'
      ? "2. Credentials for the bucket as the AWS SDK finds them: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, or the machine's role."
      : `2. The folder \`${location.root}\` mounted at the same path.`,
    `3. \`DATABASE_URL\` set to the database to restore into (it may not exist yet: the server can be empty), e.g. \`${target.display}\`.`,
    '',
    '```sh',
    'npx lifeboat list --remote',
    'npx lifeboat verify --remote latest --deep',
    'npx lifeboat restore latest --from-remote --yes',
    '```',
    '',
    'It downloads and decrypts the snapshot, checks every file against its manifest, creates the database, restores it and verifies it (schema fingerprint and the row count of every table) before it takes the name. `npx lifeboat drill --remote` does the same into a scratch database and times it: run it monthly.',
    '',
    `Without Lifeboat (the copy is a pg_dump archive; \`manifest.json${suffix}\` beside it says which database, server and tables):`,
    '',
    '```sh',
    cp,
    ...decrypt,
    `createdb ${target.database} && pg_restore --exit-on-error -d ${target.database} <id>/data.dump`,
    '```',
    '',
  ];
}
