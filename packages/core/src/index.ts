export { ERROR_CODES, type ErrorCode, LifeboatError, isLifeboatError } from './errors.js';
export { redact, registerSecret } from './secrets.js';
export { type DatabaseTarget, parseDatabaseUrl, withDatabase, childEnv } from './db/target.js';
export { connect, connectMaintenance, withClient } from './db/connect.js';
export { type ConnectionParts, display, partsUrl, sameDatabase, sslMode } from './db/connection-parts.js';
export {
  type DatabaseState,
  type SchemaFingerprint,
  type TableCount,
  compareStates,
  countRows,
  readState,
  schemaFingerprint,
  serverInfo,
} from './db/introspect.js';
export { findPgTool, type PgTool } from './pg-tools/find.js';
export type { Progress, ProgressFn } from './progress.js';
export { type Manifest, manifestSchema } from './store/manifest.js';
export { findSnapshot, listStore, openStore, type Store, type StoreListing } from './store/store.js';
export { appendJournal, type JournalEntry, readJournal } from './store/journal.js';
export type { StrategyName } from './strategies/choose.js';
export { type TakeSnapshotOptions, takeSnapshot } from './snapshot/take.js';
export { type VerifyResult, verifySnapshot } from './snapshot/verify.js';
export { type RestoreOptions, type RestoreResult, restoreSnapshot } from './restore/restore.js';
export { applyPrune, planPrune, type PrunePlan, type RetentionPolicy } from './retention/prune.js';
export { LIFEBOAT_VERSION } from './version.js';
export { type LifeboatConfig, defineConfig } from './config/schema.js';
export { importFile } from './config/import-file.js';
export { loadConfig, type LoadedConfig } from './config/load.js';
export {
  anotherDatabaseError,
  assertSameDatabase,
  type ChosenDatabase,
  chooseDatabase,
  type DatabaseInputs,
  type DatabaseOrigin,
  resolveDatabase,
  type ToolDatabase,
} from './config/database.js';
export { type Rehearsal, type RehearsalStep, rehearse } from './db/rehearse.js';
export { resolveSettings, type SettingFlags, type Settings } from './config/resolve.js';
export { type CheckResult, judged, passed } from './checks/result.js';
export type { CliAdapter, CliAdapterInput, MigrationAdapter, MigrationRun, MigrationStatus, PreparedCommand, RunOutcome } from './guard/adapter.js';
export { commandRun } from './guard/command-run.js';
export { flagValue } from './guard/tool-args.js';
export { type DeployOutcome, type DeployReport, guardedDeploy, type GuardedDeployOptions } from './guard/deploy.js';
export { assertDeployed, deployWith, type DeployWithOptions } from './guard/programmatic.js';
export { type DiscardReport, discardReport, type TableDiscard } from './recovery/discard.js';
export { rollback, type RollbackOptions, type RollbackResult, undoRollback } from './recovery/rollback.js';
export type { AppWrites } from './recovery/app-writes.js';
export { reapply, type ReapplyOptions, type ReapplyResult } from './recovery/reapply.js';
export { drill, type DrillResult } from './recovery/drill.js';
export { recover, type RecoverResult, type RecoveredOperation } from './recovery/recover.js';
export { type InterruptedOperation, interruptedOperations } from './recovery/interrupted.js';
export { recoveryStatus, type StatusReport } from './recovery/status.js';
export { type ClassProposal, classesSnippet, classify } from './recovery/classify.js';
export { runbook } from './recovery/runbook.js';
export type { DataClass } from './config/schema.js';
export { type Remote, openRemote } from './remote/remote.js';
export { type RemoteSettings, parseRemote } from './remote/url.js';
export { pushSnapshot, type PushOptions, type PushResult } from './remote/push.js';
export { fetchSnapshot, type Fetched } from './remote/fetch.js';
export { listRemote, type RemoteListing, type RemoteSnapshot } from './remote/layout.js';
export { verifyRemote } from './remote/verify.js';
export { type OffsiteStatus, offsiteStatus } from './remote/status.js';
export { type EncryptionSettings, loadKeys } from './crypto/age.js';
export { describePolicy, retained } from './retention/policy.js';
