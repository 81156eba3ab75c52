/** Quote an SQL identifier (database, schema, table names). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quote an SQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** PostgreSQL truncates identifiers to 63 bytes: build names that fit, keeping the suffix whole. */
export function fitIdentifier(prefix: string, suffix: string): string {
  const max = 63 - Buffer.byteLength(suffix);
  let head = prefix;
  while (Buffer.byteLength(head) > max) head = head.slice(0, -1);
  return head + suffix;
}

/** A schema-qualified name, both parts quoted: `"drizzle"."__drizzle_migrations"`. */
export function qualifiedName(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}
