import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Command } from 'commander';
import { withClient } from '../../db/connect.js';
import { parseDatabaseUrl } from '../../db/target.js';
import { LifeboatError } from '../../errors.js';
import type { MigrationAdapter, MigrationSql } from '../../guard/adapter.js';
import { blockingFindings, makePlan } from '../../plan/plan.js';
import { ADAPTER_PACKAGES, loadCliAdapter, toolDatabases } from '../adapters.js';
import { type CommandContext, contextOf } from '../context.js';
import { printPlan } from '../plan-report.js';

/**
 * `lifeboat plan [tool] [args…]`: what the pending migrations will do to the live database,
 * read-only. `--sql` plans SQL files instead of a tool's pending migrations.
 */
export function planCommand(): Command {
  return (
    new Command('plan')
      .description('what the pending migrations will do: each statement parsed, its locks and risks with live figures, pre-checked against the data (read-only)')
      .argument('[tool]', `the migrate tool (${Object.keys(ADAPTER_PACKAGES).join(', ')}); default: the one configured here`)
      .argument('[args...]', "the tool's migrate command and flags (default: its usual one, e.g. knex migrate:latest)")
      .option('--sql <paths...>', 'plan these SQL files (a folder: its .sql files by name), each one a migration, instead of a tool')
      .option('--show-values', "show the pre-checks' example values unmasked (they are your data)")
      .option('--rehearse', 'also run the migrations on a copy of the schema without data (default: only where the SQL must be captured: Knex)')
      .option('--no-rehearse', 'never create the schema-only copy (a Knex plan then has no SQL to read)')
      .option('--verbose', 'list every statement, also those without a finding, and the info findings')
      .allowExcessArguments()
      // The tool's own flags (--knexfile, --config) are passed on; Lifeboat's (--json) are Lifeboat's wherever they stand.
      .allowUnknownOption()
      .action(async (tool: string | undefined, args: string[], opts: { sql?: string[]; verbose?: boolean }, cmd: Command) => {
        const ctx = await contextOf(cmd, { askTools: opts.sql !== undefined || tool === undefined });
        const { target, adapter, pending, sql } = opts.sql ? { ...(await sqlFiles(ctx, opts.sql)), adapter: undefined, pending: undefined } : await toolPending(ctx, tool, args);
        const plan = await withClient(target, target.database, (client) =>
          makePlan(client, {
            target,
            settings: ctx.settings.plan,
            adapter,
            pending,
            sql,
            onNotice: (m) => ctx.out.note(`lifeboat: ${m}`),
            signal: ctx.signal,
          }),
        );
        ctx.out.document(plan);
        printPlan(ctx.out, plan, { verbose: opts.verbose === true });
        if (plan.rehearsal?.ran && !plan.rehearsal.ok) {
          throw new LifeboatError(
            'REHEARSAL_FAILED',
            `The migrations failed on a copy of the schema without data${plan.rehearsal.migration ? `, in ${plan.rehearsal.migration}` : ''}: ${plan.rehearsal.error}`,
            {
              hint: 'Fix the migration: the deploy would fail the same way (the live database was not touched).',
            },
          );
        }
        const blocking = blockingFindings(plan);
        if (plan.blocking) {
          const first = blocking[0];
          throw new LifeboatError(
            'PLAN_BLOCKED',
            first ? `${blocking.length} blocking finding(s); first: ${first.migration}, statement ${first.statement}: ${first.finding.rule}: ${first.finding.message}` : 'a migration does not parse.',
            {
              hint: first
                ? `Fix the migration or the data, or allow it: plan.allow: ['${first.finding.rule}@${first.migration}'] in lifeboat.config, or a comment -- lifeboat:allow ${first.finding.rule} in the migration.`
                : 'Fix the SQL: the deploy would fail on it.',
            },
          );
        }
      })
  );
}

/** The tool's pending migrations, as `lifeboat <tool> …` would deploy them. */
async function toolPending(ctx: CommandContext, tool: string | undefined, args: string[]) {
  const name = tool ?? (await onlyConfiguredTool(ctx));
  if (!ADAPTER_PACKAGES[name]) {
    throw new LifeboatError('USAGE', `\`lifeboat plan ${name}\`: not a migrate tool Lifeboat knows (${Object.keys(ADAPTER_PACKAGES).join(', ')}).`, {
      hint: 'Name the tool (lifeboat plan knex), or plan SQL files with --sql.',
    });
  }
  const cli = await loadCliAdapter(name, ctx.cwd);
  const prepared = await cli.prepare({ args: args.length > 0 ? args : cli.migrateArgs, cwd: ctx.cwd, env: process.env, choose: ctx.choose });
  if (prepared.mode !== 'migrate') {
    throw new LifeboatError('USAGE', `\`${name} ${args.join(' ')}\` does not apply pending migrations: there is nothing to plan.`, {
      hint: `Plan the migrate command: lifeboat plan ${name} ${cli.migrateArgs.join(' ')}`,
    });
  }
  ctx.out.note(`lifeboat: database from ${prepared.database.source}`);
  const target = parseDatabaseUrl(prepared.database.url);
  const adapter: MigrationAdapter = prepared.adapter;
  const pending = await withClient(target, target.database, async (client) => (await adapter.status(client)).pending);
  return { target, adapter, pending, sql: undefined };
}

async function onlyConfiguredTool(ctx: CommandContext): Promise<string> {
  const tools = [...new Set((await toolDatabases(ctx.cwd, process.env)).map((t) => t.tool))];
  if (tools.length === 1) return tools[0]!;
  throw new LifeboatError(
    'USAGE',
    tools.length === 0 ? 'No migrate tool is configured in this folder: name one, or plan SQL files with --sql.' : `Several migrate tools are configured here (${tools.join(', ')}): name one.`,
    { hint: 'lifeboat plan knex | lifeboat plan prisma | lifeboat plan drizzle-kit | lifeboat plan --sql migrations/' },
  );
}

/** SQL files as migrations, named by their file names; a folder gives its .sql files in name order. */
async function sqlFiles(ctx: CommandContext, paths: string[]): Promise<{ target: ReturnType<CommandContext['target']>; sql: MigrationSql[] }> {
  const files: string[] = [];
  for (const path of paths.map((p) => resolve(ctx.cwd, p))) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new LifeboatError('USAGE', `--sql ${path}: no such file or folder.`);
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => n.endsWith('.sql')).sort();
      files.push(...names.map((n) => join(path, n)));
    } else files.push(path);
  }
  if (files.length === 0) throw new LifeboatError('USAGE', `--sql ${paths.join(' ')}: no .sql file.`);
  const sql = await Promise.all(files.map(async (file) => ({ migration: basename(file, '.sql'), sql: await readFile(file, 'utf8'), file })));
  return { target: ctx.target(), sql };
}
