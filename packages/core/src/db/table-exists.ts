import type pg from 'pg';

/**
 * Whether a table (or view) exists, by its quoted name (`qualifiedName(schema, table)`), as
 * PostgreSQL resolves it: a migration table the tool has not created yet is no error.
 */
export async function tableExists(client: pg.Client, quotedName: string): Promise<boolean> {
  const { rows } = await client.query<{ t: string | null }>('select to_regclass($1)::text as t', [quotedName]);
  return rows[0]?.t != null;
}
