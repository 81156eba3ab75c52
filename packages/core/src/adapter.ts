// @lifeboat/core/adapter: what a migrate tool's adapter needs, and users do not call.
// An adapter names its tool's migration table, reads its tool's configuration for the
// database and knows its subcommands; the rest is here.

// What the guard asks of an adapter, and what `lifeboat <tool>` hands it.
export type { AppliedTime, CaptureResult, CliAdapter, CliAdapterInput, MigrationAdapter, MigrationRun, MigrationSql, MigrationStatus, PreparedCommand, RunOutcome } from './guard/adapter.js';
export { type CheckResult, judged, passed } from './checks/result.js';

// SQL against the tool's migration table.
export { ident, literal, qualifiedName } from './db/sql.js';
export { tableExists } from './db/table-exists.js';
export { type Rehearsal, type RehearsalStep, rehearse } from './db/rehearse.js';
export { serverErrorText } from './db/server-error.js';

// The project's own tool, its flags and its configuration files.
export { findProjectTool, type ProjectTool, projectPackage, type ToolPackage } from './kit/project-tool.js';
export { loadToolConfig, type ToolConfigOptions } from './kit/tool-config.js';
export { importFile } from './config/import-file.js';
export { flagValue } from './guard/tool-args.js';
export { commandRun } from './guard/command-run.js';
// The deploy's settings for the tool's sessions, for a hook to set on its own connections.
export { applySession, type SessionConnection, type SessionSettings, setSession } from './guard/tool-sessions.js';

// The one database rule, and telling two databases apart.
export {
  anotherDatabaseError,
  assertSameDatabase,
  type ChosenDatabase,
  chooseDatabase,
  type DatabaseInputs,
  type DatabaseOrigin,
  type ToolDatabase,
} from './config/database.js';
export { type ConnectionParts, display, partsUrl, sameDatabase } from './db/connection-parts.js';

// Programmatic hooks: their options, to a guarded deploy.
export {
  assertDeployed,
  connectionDatabase,
  databaseRule,
  deployWith,
  type DeployWithOptions,
  type HookOptions,
  hookDeploy,
} from './guard/programmatic.js';
export { guardedDeploy, type GuardedDeployOptions } from './guard/deploy.js';
