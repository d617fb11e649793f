// `flowmesh flows put|get|list|delete`: flow definitions through the gateway; tables or --json.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { Command } from 'commander';
import type { Flow } from '@flowmesh/contracts';
import { connect, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { runAction } from './fail.js';
import { renderFields, renderJson, renderTable } from '../output/table.js';

type Flags = ConnectionFlags & { json?: boolean };

function flowSummary(f: Flow) {
  return {
    name: f.name,
    revision: f.definition?.flowRevision ?? 0,
    description: f.definition?.description ?? '',
    updatedBy: f.updatedBy,
  };
}

const columns = [
  { header: 'name', value: (f: Flow) => f.name },
  { header: 'version', value: (f: Flow) => f.definition?.flowRevision, align: 'right' as const },
  { header: 'updated by', value: (f: Flow) => f.updatedBy },
  { header: 'description', value: (f: Flow) => f.definition?.description },
];

export function flowsCommand(): Command {
  const flows = new Command('flows').description('store, read, list and delete flows');
  const sub = (name: string, description: string) =>
    withConnectionOptions(flows.command(name).description(description)).option('--json', 'JSON output');

  sub('put', 'store a flow from a YAML or JSON file (validated by the store)')
    .argument('<file>', 'flow file')
    .option('--name <name>', 'flow name (default: the file name without extension)')
    .option('--description <text>', 'description')
    .option(
      '--expected-revision <n>',
      'compare-and-set: store only if the flow is at this revision (0: must not exist)',
    )
    .action((file: string, f: Flags & { name?: string; description?: string; expectedRevision?: string }) =>
      runAction('flows put', async () => {
        const source = readFileSync(file, 'utf8');
        const name = f.name ?? basename(file, extname(file));
        const client = connect(f);
        const flow = await client.putFlow(name, source, {
          description: f.description,
          expectedRevision: f.expectedRevision === undefined ? undefined : Number(f.expectedRevision),
        });
        process.stdout.write(
          f.json
            ? renderJson(flow)
            : `stored flow ${flow.name} version ${flow.definition?.flowRevision ?? '?'} (revision ${flow.revision})\n`,
        );
      }),
    );

  sub('get', 'print a flow (its source, or JSON)')
    .argument('<name>')
    .option('--version <n>', 'a specific flow version')
    .action((name: string, f: Flags & { version?: string }) =>
      runAction('flows get', async () => {
        const flow = await connect(f).getFlow(name, { flowRevision: f.version ? Number(f.version) : 0 });
        if (f.json) process.stdout.write(renderJson(flow));
        else {
          const s = flowSummary(flow);
          process.stdout.write(
            renderFields([
              ['name', s.name],
              ['version', s.revision],
              ['updated by', s.updatedBy],
              ['description', s.description],
            ]),
          );
          process.stdout.write('\n' + (flow.definition?.source ?? '').replace(/\n?$/, '\n'));
        }
      }),
    );

  sub('list', 'list flows')
    .option('--prefix <prefix>', 'only names starting with this')
    .action((f: Flags & { prefix?: string }) =>
      runAction('flows list', async () => {
        const client = connect(f);
        const all: Flow[] = [];
        let pageToken = '';
        do {
          const page = await client.listFlows({ prefix: f.prefix, pageToken });
          all.push(...page.flows);
          pageToken = page.nextPageToken;
        } while (pageToken);
        process.stdout.write(f.json ? renderJson(all.map(flowSummary)) : renderTable(columns, all));
      }),
    );

  sub('delete', 'delete a flow')
    .argument('<name>')
    .action((name: string, f: Flags) =>
      runAction('flows delete', async () => {
        const deleted = await connect(f).deleteFlow(name);
        process.stdout.write(
          f.json ? renderJson({ name, deleted }) : deleted ? `deleted flow ${name}\n` : `flow ${name} did not exist\n`,
        );
        if (!deleted) process.exitCode = 5;
      }),
    );
  return flows;
}
