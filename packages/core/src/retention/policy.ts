/**
 * A retention policy, read as restic's `forget` reads its flags: a copy stays when any
 * rule keeps it. Without any rule, everything stays.
 */
export interface RetentionPolicy {
  /** Keep the newest N. */
  keep?: number;
  /** Keep those younger than this many days. */
  maxAgeDays?: number;
  /** Keep the newest of each of the last N days that have one (UTC). */
  daily?: number;
  /** … of each of the last N ISO weeks that have one. */
  weekly?: number;
  /** … of each of the last N calendar months that have one. */
  monthly?: number;
  /**
   * Local only: full copies on the database server, per database (its clone snapshots and
   * the databases restores replaced). Beyond the newest N they go, whatever the rules above
   * say (the snapshots retention always keeps stay, and count). Not a keep rule.
   */
  keepOnServer?: number;
}

export function hasRules(policy: RetentionPolicy): boolean {
  return [policy.keep, policy.maxAgeDays, policy.daily, policy.weekly, policy.monthly].some((value) => value !== undefined);
}

/** The policy in words, for status and prune: "keep 10, daily 7, weekly 4". */
export function describePolicy(policy: RetentionPolicy): string {
  if (!hasRules(policy)) return `keep everything (no retention rule)${policy.keepOnServer !== undefined ? `; at most ${policy.keepOnServer} full copies per database on the server` : ''}`;
  const parts = [
    policy.keep !== undefined ? `the newest ${policy.keep}` : '',
    policy.maxAgeDays !== undefined ? `younger than ${policy.maxAgeDays} days` : '',
    policy.daily !== undefined ? `${policy.daily} daily` : '',
    policy.weekly !== undefined ? `${policy.weekly} weekly` : '',
    policy.monthly !== undefined ? `${policy.monthly} monthly` : '',
  ].filter(Boolean);
  const server = policy.keepOnServer !== undefined ? `; at most ${policy.keepOnServer} full cop${policy.keepOnServer === 1 ? 'y' : 'ies'} per database on the server` : '';
  return `keep ${parts.join(', ')}${server}`;
}

/** UTC day, ISO week and month of a timestamp: the buckets of the daily, weekly and monthly rules. */
function day(at: Date): string {
  return at.toISOString().slice(0, 10);
}

function month(at: Date): string {
  return at.toISOString().slice(0, 7);
}

function isoWeek(at: Date): string {
  const date = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((date.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${date.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/**
 * Which items the policy keeps, and the first rule that keeps each. `items` in any
 * order; each bucket rule keeps the newest item of each of its newest N buckets.
 */
export function retained<T extends { id: string; createdAt: string }>(items: T[], policy: RetentionPolicy, now: Date): Map<string, string> {
  const newestFirst = [...items].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  const kept = new Map<string, string>();
  const keep = (id: string, why: string) => {
    if (!kept.has(id)) kept.set(id, why);
  };
  if (!hasRules(policy)) {
    for (const item of newestFirst) keep(item.id, 'no retention rule');
    return kept;
  }
  newestFirst.forEach((item, index) => {
    if (policy.keep !== undefined && index < policy.keep) keep(item.id, `one of the newest ${policy.keep}`);
    if (policy.maxAgeDays !== undefined && now.getTime() - Date.parse(item.createdAt) < policy.maxAgeDays * 86_400_000) {
      keep(item.id, `younger than ${policy.maxAgeDays} days`);
    }
  });
  const buckets: Array<[number | undefined, (at: Date) => string, string]> = [
    [policy.daily, day, 'day'],
    [policy.weekly, isoWeek, 'week'],
    [policy.monthly, month, 'month'],
  ];
  for (const [count, bucketOf, name] of buckets) {
    if (count === undefined) continue;
    const seen = new Set<string>();
    for (const item of newestFirst) {
      const bucket = bucketOf(new Date(item.createdAt));
      if (seen.has(bucket)) continue;
      if (seen.size >= count) break;
      seen.add(bucket);
      keep(item.id, `the newest of its ${name} (${bucket})`);
    }
  }
  return kept;
}
