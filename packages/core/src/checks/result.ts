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
}

export function passed(name: string, summary: string, allowed: string[] = []): CheckResult {
  return { name, ok: true, summary, problems: [], allowed };
}

export function judged(name: string, summary: string, problems: string[], allowed: string[] = []): CheckResult {
  return { name, ok: problems.length === 0, summary, problems, allowed };
}
