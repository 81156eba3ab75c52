import { mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnexProject } from '../dev/knex-project.js';
import { databases, json, query, repoRoot } from './support/db.js';

const PACKAGES = ['core', 'knex', 'prisma', 'drizzle'];
/** The lowest knex @lifeboat/knex's peer range accepts (the suite runs 3.3), and core's own pg. */
const FROM_REGISTRY = ['knex@3.1.0', 'pg@8.23.1'];

/**
 * The packages as users get them: `pnpm pack` tarballs, installed with npm into a fresh
 * project outside the workspace (nothing resolves from the monorepo), then used the way the
 * README says: `lifeboat init`, a guarded knex deploy, a rollback, and `require()`.
 */
describe('the published packages, installed from their tarballs', () => {
  const dbs = databases();
  let root: string;
  let project: string;

  // pnpm's own variables (its user agent, the running script) mean nothing to npm in a user's project.
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/i.test(key) || /^npm_config_(registry|cache|https?_proxy|noproxy|cafile)$/i.test(key))),
    NODE_ENV: 'development',
  };
  const run = async (file: string, args: string[], extra: Record<string, string> = {}) => {
    const result = await execa(file, args, { cwd: project, env: { ...env, ...extra }, extendEnv: false, reject: false, stdin: 'ignore' });
    return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lifeboat-pack-'));
    const tarballs = await Promise.all(
      PACKAGES.map(async (name) => {
        const { stdout } = await execa('pnpm', ['pack', '--pack-destination', root], { cwd: join(repoRoot, 'packages', name) });
        return stdout.trim().split('\n').at(-1)!;
      }),
    );
    project = await createKnexProject(root);
    await writeFile(join(project, 'package.json'), `${JSON.stringify({ name: 'pack-smoke', private: true, type: 'module' }, null, 2)}\n`);
    // Peers are not installed (prisma and drizzle-kit would triple the time); `npm ls` below checks them.
    const install = await run('npm', ['install', '--no-audit', '--no-fund', '--legacy-peer-deps', ...tarballs, ...FROM_REGISTRY]);
    expect(install.exitCode, install.stderr).toBe(0);
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('each tarball carries its README, the LICENSE and its build, and no sources', async () => {
    const license = await readFile(join(repoRoot, 'LICENSE'), 'utf8');
    for (const name of PACKAGES) {
      const dir = join(project, 'node_modules/@lifeboat', name);
      expect(await realpath(dir), 'installed as a copy, not a link into the workspace').toBe(dir);
      const files = await readdir(dir);
      expect(files.sort(), name).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'dist', 'package.json']));
      expect(files, name).not.toContain('src');
      expect(await readFile(join(dir, 'LICENSE'), 'utf8')).toBe(license);
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8'));
      if (name !== 'core') expect(manifest.dependencies['@lifeboat/core'], 'workspace:* replaced by the version').toBe(manifest.version);
    }
  });

  it('knex satisfies its peer range; the other adapters name theirs', async () => {
    const { problems } = JSON.parse((await run('npm', ['ls', '--all', '--json'])).stdout) as { problems?: string[] };
    expect(problems?.sort()).toEqual(['missing: drizzle-kit@^0.31.0, required by @lifeboat/drizzle@0.1.0', 'missing: prisma@^6.19.0 || ^7.0.0, required by @lifeboat/prisma@0.1.0']);
  });

  it('require() and import give the same module, and the adapter kit shares it', async () => {
    const script = `
      const core = require('@lifeboat/core');
      const kit = require('@lifeboat/core/adapter');
      const refusal = kit.anotherDatabaseError({ url: 'postgres://a/x', origin: 'flag', source: '--database-url' }, { tool: 'knex', url: 'postgres://a/y', source: 'knexfile' });
      const adapters = ['knex', 'prisma', 'drizzle'].map((name) => require('@lifeboat/' + name));
      import('@lifeboat/core').then((esm) => {
        console.log(JSON.stringify({
          defineConfig: typeof core.defineConfig,
          guarded: typeof adapters[0].guarded,
          guardedMigrate: adapters.slice(1).map((a) => typeof a.guardedMigrate),
          sameInstance: esm.LifeboatError === core.LifeboatError,
          kitSameInstance: refusal instanceof esm.LifeboatError,
          resolved: require.resolve('@lifeboat/core'),
          resolvedKit: require.resolve('@lifeboat/core/adapter'),
        }));
      });`;
    const result = await run('node', ['-e', script]);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      defineConfig: 'function',
      guarded: 'function',
      guardedMigrate: ['function', 'function'],
      sameInstance: true,
      kitSameInstance: true,
      resolved: join(project, 'node_modules/@lifeboat/core/dist/index.cjs'),
      resolvedKit: join(project, 'node_modules/@lifeboat/core/dist/adapter.cjs'),
    });
  });

  it('lifeboat init, a guarded knex deploy and a rollback, through the installed bin', async () => {
    const db = await dbs.create('pack');
    const items = async () =>
      (await query<{ t: string | null }>(db.url, "select to_regclass('public.items')::text as t"))[0]!.t === null
        ? null
        : (await query(db.url, 'select name from items order by id')).map((r) => r.name);

    const init = await run('npx', ['lifeboat', 'init']);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(await readFile(join(project, '.gitignore'), 'utf8')).toBe('.lifeboat/\n');

    await writeFile(
      join(project, 'migrations/20240101000000_items.cjs'),
      "exports.up = async (knex) => {\n  await knex.schema.createTable('items', (t) => { t.increments('id'); t.text('name'); });\n  await knex('items').insert([{ name: 'a' }, { name: 'b' }]);\n};\nexports.down = async (knex) => knex.schema.dropTable('items');\n",
    );
    const deploy = await run('npx', ['lifeboat', '--json', 'knex', 'migrate:latest'], { DATABASE_URL: db.url });
    expect(deploy.exitCode, deploy.stderr).toBe(0);
    expect(json(deploy)).toMatchObject({ outcome: 'applied', migrated: ['20240101000000_items.cjs'] });
    expect(await items()).toEqual(['a', 'b']);

    const rollback = await run('npx', ['lifeboat', 'rollback', '--yes', '--json'], { DATABASE_URL: db.url });
    expect(rollback.exitCode, rollback.stderr).toBe(0);
    expect(await items()).toBeNull();
  });
});
