import type pg from 'pg';
import type { DataClass } from '../config/schema.js';

export interface ClassProposal {
  table: string;
  class: DataClass;
  reason: string;
  /** The planner's estimate; -1 when the table was never analyzed. */
  rows: number;
  bytes: number;
}

const EPHEMERAL = /(^|_)(sessions?|cache|caches|queue|queues|jobs?|locks?|tmp|temp|tokens?|otp|nonces?|rate_limits?)($|_)/i;
const DERIVED = /(^|_)(search|index|stats|statistics|summary|summaries|rollups?|aggregates?|reports?|materialized|denorm)($|_)/i;
const CONFIGURATION = /(^|_)(settings?|config|configuration|feature_flags?|flags|permissions?|roles?|plans?|countries|currencies|locales?)($|_)/i;

/**
 * Propose a data class for every table from what the catalogs say (unlogged tables,
 * materialized views, names, sizes). It only proposes: the user pastes what they agree with.
 * The migrate tools' bookkeeping tables (`schema.table`, as their adapters name them) are
 * left out: they are neither data nor a class's to decide (knex_migrations_lock is no
 * ephemeral lock table).
 */
export async function classify(client: pg.Client, options: { bookkeeping?: string[] } = {}): Promise<ClassProposal[]> {
  const bookkeeping = new Set(options.bookkeeping ?? []);
  const { rows } = await client.query<{ schema: string; name: string; relkind: string; persistence: string; rows: number; bytes: string; parent: boolean }>(
    `select n.nspname as schema, c.relname as name, c.relkind::text as relkind, c.relpersistence::text as persistence,
            c.reltuples::float8 as rows, pg_total_relation_size(c.oid)::text as bytes, c.relispartition as parent
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'm') and not c.relispartition
        and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
      order by 1, 2`,
  );
  return rows
    .filter((r) => !bookkeeping.has(`${r.schema}.${r.name}`))
    .map((r) => {
      const [dataClass, reason] =
        r.relkind === 'm'
          ? (['derived', 'materialized view: recomputed by REFRESH'] as const)
          : r.persistence === 'u'
            ? (['ephemeral', 'unlogged table: PostgreSQL itself empties it after a crash'] as const)
            : EPHEMERAL.test(r.name)
              ? (['ephemeral', 'name suggests sessions, caches, queues or tokens'] as const)
              : DERIVED.test(r.name)
                ? (['derived', 'name suggests a search index, summary or report'] as const)
                : CONFIGURATION.test(r.name)
                  ? (['configuration', 'name suggests settings or reference data'] as const)
                  : (['critical', 'default'] as const);
      return { table: `${r.schema}.${r.name}`, class: dataClass, reason, rows: Math.round(r.rows), bytes: Number(r.bytes) };
    });
}

/** The proposals as a `classes` block to paste into lifeboat.config.ts (critical tables are the default). */
export function classesSnippet(proposals: ClassProposal[], bookkeeping: string[] = []): string {
  const named = proposals.filter((p) => p.class !== 'critical');
  const rows = (p: ClassProposal) => (p.rows < 0 ? 'rows unknown (never analyzed)' : `~${p.rows.toLocaleString('en-US')} rows`);
  const lines = named.map((p) => `    '${p.table}': '${p.class}', // ${p.reason}; ${rows(p)}, ${(p.bytes / 1e6).toFixed(1)} MB`);
  return [
    '// lifeboat.config.ts: proposed by `lifeboat classify`. Tables not listed are critical.',
    '// Snapshots keep the schema of every table, and the data of derived and ephemeral ones only with --all-data.',
    ...(bookkeeping.length > 0 ? [`// The migrate tools' own tables are left as they are: ${bookkeeping.join(', ')}.`] : []),
    "import { defineConfig } from '@lifeboat/core';",
    '',
    'export default defineConfig({',
    '  classes: {',
    ...(lines.length > 0 ? lines : ['    // nothing but critical tables found']),
    '  },',
    '});',
  ].join('\n');
}
