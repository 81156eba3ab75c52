import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../packages/core/src/config/schema.js';
import { json, lifeboat, repoRoot } from './support/db.js';

/** `lifeboat init`: a starter config that loads, the store kept out of git, nothing overwritten without --force. */
describe('lifeboat init', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  // Inside the repo, so the config's import of @lifeboat/core resolves as in a user's project.
  const project = async (files: Record<string, string> = {}) => {
    await mkdir(join(repoRoot, 'test/.tmp'), { recursive: true });
    const dir = await mkdtemp(join(repoRoot, 'test/.tmp/init-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  };

  it('writes a config with every key that loads, and creates .gitignore with the store', async () => {
    const dir = await project();
    const init = await lifeboat(['init', '--json'], { cwd: dir });
    expect(init.exitCode, init.stderr).toBe(0);
    const config = join(dir, 'lifeboat.config.ts');
    expect(json(init)).toEqual({ config, replaced: [], gitignore: { file: join(dir, '.gitignore'), entry: '.lifeboat/', change: 'created' } });
    const text = await readFile(config, 'utf8');
    expect(text).toMatch(/^import \{ defineConfig \} from '@lifeboat\/core';/);
    for (const key of Object.keys(configSchema.shape)) expect(text, key).toMatch(new RegExp(`^  (// )?${key}: `, 'm'));
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe('.lifeboat/\n');

    // Loaded and validated (an unknown key or a bad value would exit 18), its store where it says.
    const list = await lifeboat(['list', '--json'], { cwd: dir });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(json(list).store).toBe(join(dir, '.lifeboat'));
  });

  it('refuses to overwrite a config; --force keeps the old one as .bak; .gitignore gets the line once', async () => {
    const dir = await project({ 'lifeboat.config.ts': 'export default { strategy: "dump" };\n', '.gitignore': 'node_modules' });
    const refused = await lifeboat(['init', '--json'], { cwd: dir });
    expect(refused.exitCode).toBe(2);
    expect(json(refused).error).toMatchObject({ code: 'USAGE', message: 'lifeboat.config.ts already exists; lifeboat init changed nothing.' });
    expect(refused.stderr).toContain('lifeboat init --force');
    expect(await readFile(join(dir, 'lifeboat.config.ts'), 'utf8')).toBe('export default { strategy: "dump" };\n');
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe('node_modules');

    const forced = await lifeboat(['init', '--force', '--json'], { cwd: dir });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ replaced: [{ file: join(dir, 'lifeboat.config.ts'), keptAs: join(dir, 'lifeboat.config.ts.bak') }], gitignore: { change: 'added' } });
    expect(await readFile(join(dir, 'lifeboat.config.ts.bak'), 'utf8')).toBe('export default { strategy: "dump" };\n');
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe('node_modules\n.lifeboat/\n');

    const again = await lifeboat(['init', '--force', '--json'], { cwd: dir });
    expect(json(again)).toMatchObject({ replaced: [{ keptAs: join(dir, 'lifeboat.config.ts.bak.2') }], gitignore: { change: 'present' } });
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe('node_modules\n.lifeboat/\n');
  });

  it('a config in another format counts as existing; --config must name a module', async () => {
    const dir = await project({ 'lifeboat.config.json': '{}\n', '.gitignore': '/.lifeboat\n' });
    const refused = await lifeboat(['init'], { cwd: dir });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('lifeboat.config.json already exists');

    const notAModule = await lifeboat(['init', '--config', 'settings.json'], { cwd: dir });
    expect(notAModule.exitCode).toBe(2);
    expect(notAModule.stderr).toContain('lifeboat init writes a TypeScript or JavaScript module, not settings.json.');
    expect(existsSync(join(dir, 'settings.json'))).toBe(false);

    const forced = await lifeboat(['init', '--force', '--json'], { cwd: dir });
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(json(forced)).toMatchObject({ replaced: [{ keptAs: join(dir, 'lifeboat.config.json.bak') }], gitignore: { change: 'present' } });
    expect(existsSync(join(dir, 'lifeboat.config.json'))).toBe(false);
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toBe('/.lifeboat\n');
  });
});
