/**
 * Passwords seen in database URLs. Everything Lifeboat prints, logs or writes
 * (errors, --json, --debug, manifests, journal) goes through `redact`, so a
 * password that reached us can never leave again.
 */
const secrets = new Set<string>();

/**
 * Shorter passwords are still removed from every URL (below), but not from all text:
 * replacing each "a" or "pw" in every message would garble the output.
 */
const MIN_REPLACED_LENGTH = 4;

export function registerSecret(secret: string | undefined): void {
  if (!secret || secret.length < MIN_REPLACED_LENGTH) return;
  secrets.add(secret);
  secrets.add(encodeURIComponent(secret));
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0 && out.includes(secret)) out = out.split(secret).join('***');
  }
  // Any URL credentials we were never told about, and any age private key.
  return out.replace(/(postgres(?:ql)?:\/\/[^:@/\s]+):[^@/\s]+@/gi, '$1:***@').replace(/AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+/g, 'AGE-SECRET-KEY-***');
}
