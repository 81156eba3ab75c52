/**
 * A server error in PostgreSQL's own words, on one line: its message, then its DETAIL
 * and HINT when it has them (node-postgres keeps them as fields of the error). What a
 * rehearsal reports, so that a user reads what the server will say in production.
 */
export function serverErrorText(error: unknown, message?: string): string {
  const err = (error ?? {}) as { message?: unknown; detail?: unknown; hint?: unknown };
  const text = message ?? (typeof err.message === 'string' ? err.message : String(error));
  const parts = [text.trim()];
  if (typeof err.detail === 'string' && err.detail.trim() !== '') parts.push(`DETAIL: ${err.detail.trim()}`);
  if (typeof err.hint === 'string' && err.hint.trim() !== '') parts.push(`HINT: ${err.hint.trim()}`);
  return parts.join(' ').replace(/\s*\n\s*/g, ' ');
}
