import { Command } from 'commander';
import { LifeboatError } from '../../errors.js';
import { interruptedOperations, operationsElsewhere } from '../../recovery/interrupted.js';
import { formatAge, recoveryStatus } from '../../recovery/status.js';
import { offsiteStatus } from '../../remote/status.js';
import { describePolicy } from '../../retention/policy.js';
import { connectMaintenance } from '../../db/connect.js';
import { contextOf } from '../context.js';
import { formatBytes, notASnapshot } from '../output.js';

export function statusCommand(): Command {
  return new Command('status').description('newest snapshot and drill, the store, and whether the recovery objectives hold (exit 27 when one does not)').action(async (_opts: object, cmd: Command) => {
    const ctx = await contextOf(cmd, { interrupted: 'handled' });
    const target = ctx.maybeTarget();
    const database = target?.database;
    // The copies on the server are listed from a maintenance connection; an unreachable server is said, not fatal.
    const server = target ? await connectMaintenance(target).catch((error: unknown) => ({ error: error instanceof Error ? error.message : String(error) })) : undefined;
    const status = await recoveryStatus(ctx.store, ctx.settings, database, new Date(), server).finally(() => {
      if (server && !('error' in server)) void server.end().catch(() => {});
    });
    const interrupted = await interruptedOperations(ctx.store, database);
    const elsewhere = await operationsElsewhere(ctx.store, database);
    const offsite = await offsiteStatus(ctx.store, ctx.settings, database);
    const offsiteHolds = offsite.objective?.holds ?? true;
    ctx.out.document({
      ...status,
      objectives: { ...status.objectives, offsite: offsite.objective },
      offsite,
      ok: status.ok && offsiteHolds && interrupted.length === 0,
      interrupted: interrupted.map((i) => ({ ...i.record, state: i.state, recover: i.plan })),
      elsewhere,
    });
    for (const record of elsewhere) {
      ctx.out.line(
        `OPEN ELSEWHERE:   a ${record.operation} of "${record.database}" by pid ${record.process.pid} on ${record.process.host}, since ${record.startedAt}: running there, or interrupted; \`lifeboat recover\` here takes the database's lock first, so it acts only once nothing holds it`,
      );
    }
    for (const found of interrupted) {
      ctx.out.line(`INTERRUPTED:      ${found.state}`);
      ctx.out.line(`                  \`lifeboat recover\` will ${found.plan}`);
    }
    const s = status.newestSnapshot;
    ctx.out.line(`Database:         ${database ?? '(all in the store)'}`);
    ctx.out.line(`Newest snapshot:  ${s ? `${s.id} (${s.strategy}), ${formatAge(s.ageSeconds)} old, ${s.verified ? 'verified' : 'not verified since written'}` : 'none'}`);
    const g = status.newestGoodSnapshot;
    ctx.out.line(`Newest verified:  ${g ? `${g.id}, ${formatAge(g.ageSeconds)} old` : 'none'}`);
    const d = status.newestDrill;
    ctx.out.line(`Newest drill:     ${d ? `${d.at}, ${d.ok ? `passed, restored in ${d.restoreSeconds?.toFixed(1)} s` : `FAILED (${d.error})`}` : 'none'}`);
    ctx.out.line(
      `Store:            ${status.store.path}: ${status.store.snapshots} snapshot(s), ${formatBytes(status.store.bytesOnDisk)} on disk, ${formatBytes(status.store.bytesOnServer)} of clones on the server`,
    );
    for (const folder of status.store.withoutManifest) ctx.out.line(`Not a snapshot:   ${notASnapshot(folder)}`);
    const onServer = status.onServer;
    if (onServer?.error) ctx.out.line(`On the server:    not listed (${onServer.error})`);
    else if (onServer) {
      ctx.out.line(`On the server:    ${onServer.copies.length} full cop${onServer.copies.length === 1 ? 'y' : 'ies'} of ${database}, ${formatBytes(onServer.bytes)}`);
      for (const c of onServer.copies) ctx.out.line(`                  ${c.name} (${c.kind}${c.snapshot ? ` ${c.snapshot}` : ''}, ${c.bytes === undefined ? 'gone' : formatBytes(c.bytes)})`);
    }
    const r = status.retention;
    const over = (count: number, limit: number | undefined) => (limit !== undefined && count > limit ? `: ${count - limit} over, \`lifeboat prune\` removes them` : '');
    const copies = onServer?.copies.length;
    ctx.out.line(`Retention:        ${describePolicy(r)}${ctx.settings.remote ? `; remote: ${describePolicy(ctx.settings.remote.retention)}` : ''}; ${status.store.snapshots} snapshot(s) now`);
    if (r.keepOnServer !== undefined && copies !== undefined) ctx.out.line(`                  ${copies} full cop${copies === 1 ? 'y' : 'ies'} on the server now${over(copies, r.keepOnServer)}`);
    if (offsite.remote) {
      const c = offsite.newestCopy;
      ctx.out.line(`Remote:           ${offsite.remote} (push: ${offsite.push}); newest copy ${c ? `${c.id}, ${formatAge(c.ageSeconds)} old, pushed ${c.pushedAt}` : 'none'}`);
      if (offsite.lastFailure) ctx.out.line(`                  the last push FAILED (${offsite.lastFailure.at}, ${offsite.lastFailure.snapshot}): ${offsite.lastFailure.error}`);
      if (offsite.notPushed.length > 0) ctx.out.line(`                  not off-site yet: ${offsite.notPushed.join(', ')} (\`lifeboat push\`)`);
    } else {
      ctx.out.line(`Remote:           none (every copy is on this machine or its database server)`);
    }
    for (const [name, o] of [
      ['RPO', status.objectives.rpo],
      ['RTO', status.objectives.rto],
      ['Off-site', offsite.objective],
    ] as const) {
      ctx.out.line(`${`${name}:`.padEnd(18)}${o ? `${o.holds ? 'holds' : 'MISSED'}: ${o.detail}` : 'not set'}`);
    }
    if (interrupted.length > 0) {
      throw new LifeboatError('RECOVERY_NEEDED', `${interrupted.length} interrupted operation(s) on ${database ? `"${database}"` : 'databases in this store'} need recovery.`, {
        hint: 'Run `lifeboat recover` (it says what it will do and asks first).',
      });
    }
    if (!status.ok || !offsiteHolds) {
      const missed = [status.objectives.rpo?.holds === false ? 'RPO' : '', status.objectives.rto?.holds === false ? 'RTO' : '', offsiteHolds ? '' : 'off-site'].filter(Boolean);
      throw new LifeboatError('OBJECTIVE_MISSED', `Recovery objective ${missed.join(' and ')} missed.`, {
        hint: missed.includes('RPO')
          ? 'Take and verify a snapshot (lifeboat snapshot && lifeboat verify latest).'
          : missed.includes('RTO')
            ? 'Run a drill (lifeboat drill) and check its restore time.'
            : `Push a recent snapshot off-site (lifeboat push latest)${offsite.lastFailure ? `; the last push failed: ${offsite.lastFailure.error}` : ''}.`,
      });
    }
  });
}
