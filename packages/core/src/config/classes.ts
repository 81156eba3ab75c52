import type { DataClass } from './schema.js';

/** The class of a table by the config's names; critical unless named. */
export function classOf(classes: Record<string, DataClass>, table: { schema: string; name: string; parent?: string }): DataClass {
  const parentName = table.parent?.slice(table.parent.indexOf('.') + 1);
  return classes[`${table.schema}.${table.name}`] ?? classes[table.name] ?? (table.parent ? (classes[table.parent] ?? classes[parentName!]) : undefined) ?? 'critical';
}
