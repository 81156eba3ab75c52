import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Lifeboat's own version, from the package that is running. */
export const LIFEBOAT_VERSION: string = (require('../package.json') as { version: string }).version;
