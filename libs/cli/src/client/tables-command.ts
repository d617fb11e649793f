// `flowmesh tables put FILE [--name N]` / `tables list`: reference tables for `lookup` steps. The file is
// JSON: { "keyColumn": "...", "columns": [...], "rows": [{...}], "description": "..." }.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { Command } from 'commander';
import { ResourceKind } from '@flowmesh/contracts';
import { newResource } from '@flowmesh/config/new-resource';
import { connect, UsageError, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { runAction } from './fail.js';
import { renderJson, renderTable } from '../output/table.js';

type Flags = ConnectionFlags & { json?: boolean };

interface TableFile {
  keyColumn?: string;
  columns?: string[];
  rows?: Record<string, unknown>[];
  description?: string;
}

export function tablesCommand(): Command {
  const tables = new Command('tables').description('store and list reference tables (for lookup steps)');
  const sub = (name: string, description: string) =>
    withConnectionOptions(tables.command(name).description(description)).option('--json', 'JSON output');
  sub('put', 'store a reference table from a JSON file')
    .argument('<file>')
    .option('--name <name>', 'table name (default: the file name without extension)')
    .action((file: string, f: Flags & { name?: string }) =>
      runAction('tables put', async () => {
        let t: TableFile;
        try {
          t = JSON.parse(readFileSync(file, 'utf8')) as TableFile;
        } catch (err) {
          throw new UsageError(`${file}: not a JSON table file (${(err as Error).message})`);
        }
        if (!t.keyColumn || !Array.isArray(t.rows)) throw new UsageError(`${file}: needs "keyColumn" and "rows"`);
        const name = f.name ?? basename(file, extname(file));
        const resource = newResource({
          kind: ResourceKind.RESOURCE_KIND_REFERENCE_TABLE,
          name,
          spec: {
            $case: 'referenceTable',
            referenceTable: {
              keyColumn: t.keyColumn,
              columns: t.columns ?? Object.keys(t.rows[0] ?? {}),
              rows: t.rows,
              description: t.description ?? '',
            },
          },
        });
        const stored = await connect(f).putResource(resource);
        process.stdout.write(
          f.json ? renderJson(stored) : `stored table ${name} (${t.rows.length} rows, revision ${stored.revision})\n`,
        );
      }),
    );
  sub('list', 'list reference tables').action((f: Flags) =>
    runAction('tables list', async () => {
      const res = await connect(f).listResources({ kind: ResourceKind.RESOURCE_KIND_REFERENCE_TABLE });
      const rows = res.resources.map((r) => ({
        name: r.name,
        key: r.spec?.$case === 'referenceTable' ? r.spec.referenceTable.keyColumn : '',
        rows: r.spec?.$case === 'referenceTable' ? r.spec.referenceTable.rows.length : 0,
        updatedBy: r.updatedBy,
      }));
      process.stdout.write(
        f.json
          ? renderJson(rows)
          : renderTable(
              [
                { header: 'name', value: (r: (typeof rows)[number]) => r.name },
                { header: 'key', value: (r) => r.key },
                { header: 'rows', value: (r) => r.rows, align: 'right' },
                { header: 'updated by', value: (r) => r.updatedBy },
              ],
              rows,
            ),
      );
    }),
  );
  return tables;
}
