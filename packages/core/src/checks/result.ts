/** The outcome of one integrity check, with the figures behind it. */
export interface CheckResult {
  /** Stable name: data-preservation, invalid-indexes, …, or `sql:<your name>`. */
  name: string;
  ok: boolean;
  /** One line with the figures, e.g. "22 tables, 49,636 rows before: none lost". */
  summary: string;
  /** What failed; empty when ok. */
  problems: string[];
  /** Findings an allowance let through (config `allow`, --allow-data-loss). */
  allowed: string[];
  /**
   * What the check saw that is neither a problem nor a loss: renames, tables compared by
   * count only. Always set by `judged` and `passed`; optional for results built by hand.
   */
  notes?: string[];
}

export function passed(name: string, summary: string, allowed: string[] = [], notes: string[] = []): CheckResult {
  return { name, ok: true, summary, problems: [], allowed, notes };
}

export function judged(name: string, summary: string, problems: string[], allowed: string[] = [], notes: string[] = []): CheckResult {
  return { name, ok: problems.length === 0, summary, problems, allowed, notes };
}
