// One guarded deploy from code with the plan's scope given (`scope`, which the plan phase
// fills in for the CLI): the migration is SQL statements, each in its own transaction, as
// a migrate tool that commits as it goes. Prints the deploy's report as JSON.
import { deployWith } from '@lifeboat/core/adapter';
import pg from 'pg';

const input = JSON.parse(process.argv[2]);
const report = await deployWith({
  databaseUrl: input.url,
  cwd: input.cwd,
  // Scoped where the plan allows it (auto takes a full snapshot): what these cases are about.
  overrides: { strategy: 'scoped' },
  ...(input.scope ? { scope: input.scope } : {}),
  onNotice: (message) => process.stderr.write(`lifeboat: ${message}\n`),
  run: {
    describe: 'the case migration',
    run: async () => {
      const client = new pg.Client({ connectionString: input.url });
      await client.connect();
      try {
        for (const sql of input.statements) await client.query(sql);
        return { exitCode: 0 };
      } catch (error) {
        return { exitCode: 1, error: error instanceof Error ? error.message : String(error) };
      } finally {
        await client.end();
      }
    },
  },
});
process.stdout.write(JSON.stringify(report));
