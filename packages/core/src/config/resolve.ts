import { resolve } from 'node:path';
import type { CheckSettings } from '../checks/run.js';
import type { RetentionPolicy } from '../retention/prune.js';
import type { StrategyName } from '../strategies/choose.js';
import type { LoadedConfig } from './load.js';

/** Everything a command needs to know, from the config file, then flags over it. */
export interface Settings {
  /** The database URL from the config file, if it names one (flags and DATABASE_URL come first). */
  databaseUrl: string | undefined;
  store: string;
  strategy: StrategyName;
  onFailure: 'rollback' | 'keep';
  lockTimeoutMs: number;
  countBudgetMs: number;
  retention: RetentionPolicy;
  checks: CheckSettings;
}

export interface SettingFlags {
  store?: string | undefined;
  strategy?: StrategyName | undefined;
  /** --no-rollback */
  rollback?: boolean | undefined;
  allowDataLoss?: boolean | undefined;
}

export function resolveSettings(loaded: LoadedConfig, flags: SettingFlags, cwd: string): Settings {
  const { config } = loaded;
  const checks = config.checks ?? {};
  const countBudgetMs = (config.rowCountBudgetSeconds ?? 30) * 1000;
  return {
    databaseUrl: config.databaseUrl,
    store: flags.store !== undefined ? resolve(cwd, flags.store) : resolve(loaded.dir, config.store ?? '.lifeboat'),
    strategy: flags.strategy ?? config.strategy ?? 'auto',
    onFailure: flags.rollback === false ? 'keep' : (config.onFailure ?? 'rollback'),
    lockTimeoutMs: (config.lockTimeoutSeconds ?? 600) * 1000,
    countBudgetMs,
    retention: {
      ...(config.retention?.keep !== undefined ? { keep: config.retention.keep } : {}),
      ...(config.retention?.maxAgeDays !== undefined ? { maxAgeDays: config.retention.maxAgeDays } : {}),
    },
    checks: {
      migrations: checks.migrations ?? true,
      invalidIndexes: checks.invalidIndexes ?? true,
      notValidConstraints: checks.notValidConstraints ?? true,
      dataPreservation: checks.dataPreservation ?? true,
      sequences: checks.sequences ?? true,
      sql: checks.sql ?? [],
      allow: {
        all: flags.allowDataLoss === true,
        droppedTables: config.allow?.droppedTables ?? [],
        rowLoss: config.allow?.rowLoss ?? [],
        droppedColumns: config.allow?.droppedColumns ?? [],
      },
      countBudgetMs,
    },
  };
}
