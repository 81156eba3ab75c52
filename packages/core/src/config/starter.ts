import { relative } from 'node:path';
import { resolveSettings, type Settings } from './resolve.js';
import type { LifeboatConfig } from './schema.js';

/**
 * Each key's lines in the starter config: a one-line comment, then the key at its default
 * (or, where there is none, an example left commented out). Typed over every key of the
 * config, so a new key does not compile until `lifeboat init` writes it too.
 */
const KEYS: { [K in keyof Required<LifeboatConfig>]: (defaults: Settings, dir: string) => [comment: string, line: string] } = {
  databaseUrl: () => ['The database (none by default); --database-url wins over it. Keep passwords in the environment, not in this file.', '// databaseUrl: process.env.APP_DATABASE_URL,'],
  store: (d, dir) => ['The snapshot store folder, relative to this file (.gitignore keeps it out of git).', `store: ${literal(relative(dir, d.store))},`],
  strategy: (d) => [
    "How snapshots are taken: 'auto' (chooses and says why), 'dump' (pg_dump), 'clone' (a copy on the same server) or 'scoped' (a deploy's: the schema and the data its plan puts at risk, rolled back in place).",
    `strategy: ${literal(d.strategy)},`,
  ],
  dump: (d) => [
    "pg_dump for dumps: format 'auto' | 'custom' | 'directory', compression 'auto' | 'none' | 'lz4' | 'zstd' | 'gzip:N', jobs (default: by size and cores).",
    `dump: { format: ${literal(d.dump.format)}, compression: ${literal(d.dump.compression)} },`,
  ],
  onFailure: (d) => ["A failed deploy restores its snapshot ('rollback') or leaves the database as the migration left it ('keep').", `onFailure: ${literal(d.onFailure)},`],
  retention: (d) => [
    'Which snapshots `lifeboat prune` keeps (any rule keeps one): keep, maxAgeDays, daily, weekly, monthly; keepOnServer bounds the full copies on the server.',
    `retention: ${literal(d.retention)},`,
  ],
  lockTimeoutSeconds: (d) => ['Seconds a command that changes the database waits while another one holds it.', `lockTimeoutSeconds: ${d.lockTimeoutMs / 1000},`],
  rowCountBudgetSeconds: (d) => ['Seconds for exact row counts; tables left when they run out are estimated, and said so.', `rowCountBudgetSeconds: ${d.countBudgetMs / 1000},`],
  checks: (d) => {
    const { migrations, invalidIndexes, notValidConstraints, dataPreservation, sequences, sql } = d.checks;
    return [
      'The integrity checks after every deploy, each one on or off; sql: your own { name, sql } queries that must return no rows.',
      `checks: ${literal({ migrations, invalidIndexes, notValidConstraints, dataPreservation, sequences, sql })},`,
    ];
  },
  plan: (d) => [
    "`lifeboat plan` before every deploy: severity per rule ('error' | 'warning' | 'info' | 'off'), allow (rules, migrations, rule@migration), rehearse 'auto' | 'always' | 'never'.",
    `plan: ${literal({ enabled: d.plan.enabled, allow: d.plan.allow, severity: d.plan.severity, rehearse: d.plan.rehearse, precheckTimeout: `${d.plan.precheckTimeoutMs / 1000}s` })},`,
  ],
  locks: (d) => [
    "The migrate tool's sessions: how long a statement waits for a lock, an optional statement timeout, retries of a deploy that gave up on a lock.",
    `locks: ${literal({ timeout: `${d.locks.timeoutMs / 1000}s`, retries: d.locks.retries })},`,
  ],
  remote: () => [
    "The off-site copy (none by default): s3://bucket/prefix or file:///path; credentials from the AWS SDK's own chain, never from here.",
    "// remote: { url: 's3://my-backups/lifeboat', push: 'always', retention: { daily: 7, weekly: 4, monthly: 12 } },",
  ],
  encryption: () => [
    'age encryption of everything that leaves the machine (none by default); restoring needs the identity (LIFEBOAT_AGE_IDENTITY).',
    "// encryption: { recipients: ['age1…'], local: true }, // local: the store's dumps encrypted at rest too",
  ],
  objectives: () => [
    'Recovery objectives `lifeboat status` checks (none by default): the newest verified snapshot, the newest drill, the newest off-site copy.',
    "// objectives: { rpo: '24h', rto: '15m', offsite: '24h' },",
  ],
  classes: (d) => ["Each table's data class: 'critical' (the default), 'configuration', 'derived' or 'ephemeral' (those two: data left out of snapshots).", `classes: ${literal(d.classes)},`],
  allow: (d) => {
    const { droppedTables, rowLoss, droppedColumns, valueLoss } = d.checks.allow;
    return ['Data loss a migration may cause on purpose (none by default): tables, rows, columns, wiped values.', `allow: ${literal({ droppedTables, rowLoss, droppedColumns, valueLoss })},`];
  },
};

/**
 * A starter `lifeboat.config.ts` for `dir`: its text, every key at the default Lifeboat uses
 * without it, and the store folder it names (relative to `dir`).
 */
export function starterConfig(dir: string): { text: string; store: string } {
  const defaults = resolveSettings({ config: {}, file: undefined, dir }, {}, dir);
  const lines = Object.values(KEYS).flatMap((render) => {
    const [comment, line] = render(defaults, dir);
    return [`  // ${comment}`, `  ${line}`];
  });
  const text = [
    "import { defineConfig } from '@lifeboat/core';",
    '',
    "// Lifeboat's settings. Every key is optional and shows its default; see the README's lifeboat.config.ts section.",
    'export default defineConfig({',
    ...lines,
    '});',
    '',
  ].join('\n');
  return { text, store: relative(dir, defaults.store) };
}

/** A value as TypeScript source: strings in single quotes, objects on one line. */
function literal(value: unknown): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : literal(k)}: ${literal(v)}`).join(', ')} }`;
  }
  return String(value);
}
