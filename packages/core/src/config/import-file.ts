import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Each ESM load gets a URL of its own, which Node has not cached. */
let loads = 0;

/**
 * Load a user's JS or TS module (lifeboat.config.ts, a knexfile, drizzle.config.ts)
 * without a build step, the way their own tools do: the default export, else the module.
 *
 * Every call runs the file afresh, CommonJS and ESM alike: a config is read again with
 * other environment variables (DATABASE_URL pointed at the database Lifeboat protects),
 * and Node's loaders hand back the module they cached the first time. So a CommonJS file
 * leaves `require.cache` before and after, an ES module is imported under a URL of its
 * own, and TypeScript goes through jiti, which transforms it and caches nothing. (The
 * modules the file itself imports may come from Node's cache.)
 */
export async function importFile(file: string): Promise<unknown> {
  if (file.endsWith('.json')) return JSON.parse(await readFile(file, 'utf8')) as unknown;
  const kind = moduleKind(file);
  const esm = async () => interop(await import(`${pathToFileURL(file).href}?lifeboat-load=${++loads}`));
  if (kind === 'commonjs') {
    const require = createRequire(file);
    delete require.cache[file];
    try {
      const module: unknown = require(file);
      // Node ran ESM syntax in a .js its package.json does not call a module as an ES module, which it keeps in
      // a cache of its own (require(esm)): load it under a fresh URL instead.
      return Object.prototype.toString.call(module) === '[object Module]' ? await esm() : interop(module);
    } catch (error) {
      // ESM syntax in a .js that its package.json does not call a module: Node (and the tools) load it as one.
      if (error instanceof SyntaxError || (error as { code?: string }).code === 'ERR_REQUIRE_ESM') return esm();
      throw error;
    } finally {
      delete require.cache[file];
    }
  }
  if (kind === 'module') return esm();
  // Loaded on first use: most commands never read a TypeScript file, and jiti costs start-up time.
  const { createJiti } = await import('jiti');
  const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: true });
  return jiti.import(file, { default: true });
}

/** As Node runs the file: by its extension, and for .js by the nearest package.json's "type"; TypeScript is transformed. */
function moduleKind(file: string): 'commonjs' | 'module' | 'typescript' {
  if (file.endsWith('.cjs')) return 'commonjs';
  if (file.endsWith('.mjs')) return 'module';
  if (!file.endsWith('.js')) return 'typescript';
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: unknown }).type === 'module' ? 'module' : 'commonjs';
      } catch {
        return 'commonjs';
      }
    }
    if (dirname(dir) === dir) return 'commonjs';
  }
}

/** The default export (an ES module's, or a transpiled one's `exports.default`), else the module itself. */
function interop(module: unknown): unknown {
  if (module && typeof module === 'object' && 'default' in module && (module as { default?: unknown }).default !== undefined) return (module as { default: unknown }).default;
  return module;
}
