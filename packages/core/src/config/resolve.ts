import { resolve } from 'node:path';
import type { CheckSettings } from '../checks/run.js';
import type { RetentionPolicy } from '../retention/policy.js';
import type { StrategyName } from '../strategies/choose.js';
import type { LoadedConfig } from './load.js';
import type { Compression, DumpFormat } from '../strategies/dump.js';
import type { DataClass, LifeboatConfig } from './schema.js';
import type { EncryptionSettings } from '../crypto/age.js';
import type { RemoteSettings } from '../remote/url.js';

/** Everything a command needs to know, from the config file, then flags over it. */
export interface Settings {
  /** The database URL from the config file, if it names one (after --database-url, before DATABASE_URL). */
  databaseUrl: string | undefined;
  store: string;
  strategy: StrategyName;
  dump: { format: DumpFormat | 'auto'; jobs: number | undefined; compression: Compression };
  onFailure: 'rollback' | 'keep';
  lockTimeoutMs: number;
  countBudgetMs: number;
  retention: RetentionPolicy;
  checks: CheckSettings;
  objectives: { rpoSeconds: number | undefined; rtoSeconds: number | undefined; offsiteSeconds: number | undefined };
  /** The off-site store, when the config names one (`--remote URL` overrides its URL). */
  remote: RemoteSettings | undefined;
  /** age encryption of what leaves the machine, when configured. */
  encryption: EncryptionSettings | undefined;
  /** Table (`table` or `schema.table`) → its data class; tables not named are critical. */
  classes: Record<string, DataClass>;
  plan: PlanSettings;
  /** The migrate tool's sessions (`locks`). */
  locks: { timeoutMs: number; statementTimeoutMs: number | undefined; retries: number };
}

export interface PlanSettings {
  enabled: boolean;
  allow: string[];
  severity: Record<string, 'error' | 'warning' | 'info' | 'off'>;
  rehearse: 'auto' | 'always' | 'never';
  precheckTimeoutMs: number;
  /** --show-values: pre-check examples unmasked. */
  showValues: boolean;
}

/** Seconds in "90s", "15m", "24h", "7d" (or a number of seconds). */
export function durationSeconds(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(value)!;
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

/** Retention without a setting: bounded, so that neither the store nor the server fills up by itself. */
export const DEFAULT_RETENTION = { keep: 10, keepOnServer: 3 } as const satisfies RetentionPolicy;

export interface SettingFlags {
  store?: string | undefined;
  strategy?: StrategyName | undefined;
  /** --no-rollback */
  rollback?: boolean | undefined;
  allowDataLoss?: boolean | undefined;
  /** prune's --keep, --max-age, --keep-daily/weekly/monthly, --keep-on-server: over the config's retention. */
  keep?: number | undefined;
  maxAgeDays?: number | undefined;
  daily?: number | undefined;
  weekly?: number | undefined;
  monthly?: number | undefined;
  keepOnServer?: number | undefined;
  /** --no-plan */
  plan?: boolean | undefined;
  /** --show-values */
  showValues?: boolean | undefined;
  /** --rehearse / --no-rehearse */
  rehearse?: boolean | undefined;
}

const RULES = ['keep', 'maxAgeDays', 'daily', 'weekly', 'monthly'] as const;

/**
 * The local store's retention: flags over the config, key by key; the default count
 * (keep 10) only when neither names any rule, and the default bound on copies on the
 * server always unless one is named.
 */
function retentionOf(config: LifeboatConfig['retention'], flags: SettingFlags): RetentionPolicy {
  const policy = rulesOf({ ...config, ...definedOnly(flags) });
  return {
    ...(RULES.some((rule) => policy[rule] !== undefined) ? policy : { ...policy, keep: DEFAULT_RETENTION.keep }),
    keepOnServer: flags.keepOnServer ?? config?.keepOnServer ?? DEFAULT_RETENTION.keepOnServer,
  };
}

/** The remote's retention: as configured, no default (a remote keeps everything until told otherwise). */
function rulesOf(config: Partial<Record<(typeof RULES)[number], number | undefined>> | undefined): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const key of RULES) {
    const value = config?.[key];
    if (value !== undefined) policy[key] = value;
  }
  return policy;
}

function definedOnly(flags: SettingFlags): Partial<Record<(typeof RULES)[number], number>> {
  return Object.fromEntries(RULES.flatMap((rule) => (flags[rule] !== undefined ? [[rule, flags[rule]]] : [])));
}

export function resolveSettings(loaded: LoadedConfig, flags: SettingFlags, cwd: string): Settings {
  const { config } = loaded;
  const checks = config.checks ?? {};
  const countBudgetMs = (config.rowCountBudgetSeconds ?? 30) * 1000;
  return {
    databaseUrl: config.databaseUrl,
    store: flags.store !== undefined ? resolve(cwd, flags.store) : resolve(loaded.dir, config.store ?? '.lifeboat'),
    strategy: flags.strategy ?? config.strategy ?? 'auto',
    dump: { format: config.dump?.format ?? 'auto', jobs: config.dump?.jobs, compression: (config.dump?.compression ?? 'auto') as Compression },
    onFailure: flags.rollback === false ? 'keep' : (config.onFailure ?? 'rollback'),
    lockTimeoutMs: (config.lockTimeoutSeconds ?? 600) * 1000,
    countBudgetMs,
    retention: retentionOf(config.retention, flags),
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
        valueLoss: config.allow?.valueLoss ?? [],
      },
      countBudgetMs,
      classes: config.classes ?? {},
    },
    objectives: {
      rpoSeconds: durationSeconds(config.objectives?.rpo),
      rtoSeconds: durationSeconds(config.objectives?.rto),
      offsiteSeconds: durationSeconds(config.objectives?.offsite),
    },
    classes: config.classes ?? {},
    plan: {
      enabled: flags.plan === false ? false : (config.plan?.enabled ?? true),
      allow: config.plan?.allow ?? [],
      severity: config.plan?.severity ?? {},
      rehearse: flags.rehearse === undefined ? (config.plan?.rehearse ?? 'auto') : flags.rehearse ? 'always' : 'never',
      precheckTimeoutMs: (durationSeconds(config.plan?.precheckTimeout) ?? 5) * 1000,
      showValues: flags.showValues ?? false,
    },
    locks: {
      timeoutMs: (durationSeconds(config.locks?.timeout) ?? 5) * 1000,
      statementTimeoutMs: config.locks?.statementTimeout === undefined ? undefined : durationSeconds(config.locks.statementTimeout)! * 1000,
      retries: config.locks?.retries ?? 3,
    },
    remote: config.remote && {
      url: config.remote.url,
      ...(config.remote.endpoint ? { endpoint: config.remote.endpoint } : {}),
      ...(config.remote.region ? { region: config.remote.region } : {}),
      ...(config.remote.forcePathStyle !== undefined ? { forcePathStyle: config.remote.forcePathStyle } : {}),
      push: config.remote.push ?? 'manual',
      retention: rulesOf(config.remote.retention),
    },
    encryption: config.encryption && {
      recipients: config.encryption.recipients ?? [],
      ...(config.encryption.passphraseEnv ? { passphraseEnv: config.encryption.passphraseEnv } : {}),
      ...(config.encryption.identityFile ? { identityFile: resolve(loaded.dir, config.encryption.identityFile) } : {}),
      identityEnv: config.encryption.identityEnv ?? 'LIFEBOAT_AGE_IDENTITY',
      local: config.encryption.local ?? false,
    },
  };
}
