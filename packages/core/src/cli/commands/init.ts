import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import { Command } from 'commander';
import { CONFIG_FILES } from '../../config/load.js';
import { starterConfig } from '../../config/starter.js';
import { LifeboatError } from '../../errors.js';
import { createOutput } from '../output.js';

/** The config files `lifeboat init` can write: the starter is an ES module without types, so JavaScript will do too. */
const WRITABLE = ['.ts', '.mts', '.js', '.mjs'];

export function initCommand(): Command {
  return new Command('init')
    .description('write a commented lifeboat.config.ts (every key at its default) and add the store folder to .gitignore')
    .option('--force', 'replace an existing config; the old file is kept as <file>.bak')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      // Not contextOf(): it loads the config, and a broken one is what --force may be replacing.
      const global = cmd.optsWithGlobals<{ json?: boolean; config?: string }>();
      const out = createOutput(global.json === true);
      const cwd = process.cwd();
      const file = resolve(cwd, global.config ?? CONFIG_FILES[0]!);
      if (!WRITABLE.includes(extname(file))) {
        throw new LifeboatError('USAGE', `lifeboat init writes a TypeScript or JavaScript module, not ${relative(cwd, file)}.`, {
          hint: `Give --config a file ending in ${WRITABLE.join(', ')}, or leave it out for ${CONFIG_FILES[0]}.`,
        });
      }
      const dir = dirname(file);
      // Without --config, any lifeboat.config.* here counts: a second one would shadow or be shadowed by the new file.
      const existing = (global.config !== undefined ? [file] : CONFIG_FILES.map((name) => join(dir, name))).filter((path) => existsSync(path));
      if (existing.length > 0 && opts.force !== true) {
        throw new LifeboatError('USAGE', `${existing.map((path) => relative(cwd, path)).join(', ')} already exists; lifeboat init changed nothing.`, {
          hint: 'Edit it, or run `lifeboat init --force` to write a new one (the old file is kept as <file>.bak).',
        });
      }
      const replaced: { file: string; keptAs: string }[] = [];
      for (const path of existing) {
        const keptAs = freeName(`${path}.bak`);
        await rename(path, keptAs);
        replaced.push({ file: path, keptAs });
      }
      const starter = starterConfig(dir);
      await mkdir(dir, { recursive: true });
      await writeFile(file, starter.text, { flag: 'wx' });
      const gitignore = await ignoreFolder(dir, starter.store);

      out.document({ config: file, replaced, gitignore });
      out.line(`Wrote ${relative(cwd, file)}: every key at its default, with what it does. Change what you need.`);
      for (const r of replaced) out.line(`The old ${relative(cwd, r.file)} is kept as ${relative(cwd, r.keptAs)}.`);
      const ignored = `${starter.store}/`;
      const where = relative(cwd, gitignore.file);
      out.line(gitignore.change === 'created' ? `Created ${where} with ${ignored}` : gitignore.change === 'added' ? `Added ${ignored} to ${where}.` : `${where} already ignores ${ignored}`);
      out.line('Next: prefix your migrate command, e.g. `npx lifeboat knex migrate:latest`.');
    });
}

/** `path`, else `path.2`, `path.3`, …: a backup never replaces an older backup. */
function freeName(path: string): string {
  let candidate = path;
  for (let n = 2; existsSync(candidate); n++) candidate = `${path}.${n}`;
  return candidate;
}

/** Add `folder/` to the .gitignore in `dir` (creating it) unless a line there already ignores it. */
async function ignoreFolder(dir: string, folder: string): Promise<{ file: string; entry: string; change: 'created' | 'added' | 'present' }> {
  const file = join(dir, '.gitignore');
  const entry = `${folder}/`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await writeFile(file, `${entry}\n`);
    return { file, entry, change: 'created' };
  }
  const same = new Set([folder, entry, `/${folder}`, `/${entry}`]);
  if (text.split(/\r?\n/).some((line) => same.has(line.trim()))) return { file, entry, change: 'present' };
  await appendFile(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${entry}\n`);
  return { file, entry, change: 'added' };
}
