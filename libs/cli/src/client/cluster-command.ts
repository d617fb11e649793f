// `flowmesh cluster`: the nodes discovery knows, with slots and load; `--json` for scripts.
import { Command } from 'commander';
import { NodeHealth, NodeKind, type Node } from '@flowmesh/contracts';
import { connect, withConnectionOptions, type ConnectionFlags } from './connection.js';
import { runAction } from './fail.js';
import { renderJson, renderTable } from '../output/table.js';

const lower = (s: string | undefined, prefix: string) => (s ?? '').replace(prefix, '').toLowerCase().replace(/_/g, '-');

const columns = [
  { header: 'kind', value: (n: Node) => lower(NodeKind[n.kind], 'NODE_KIND_') },
  { header: 'id', value: (n: Node) => n.id },
  { header: 'address', value: (n: Node) => n.address },
  { header: 'health', value: (n: Node) => lower(NodeHealth[n.health], 'NODE_HEALTH_') },
  { header: 'slots', value: (n: Node) => (n.slots ? `${n.slotsBusy}/${n.slots}` : ''), align: 'right' as const },
  { header: 'load', value: (n: Node) => Math.round(n.load * 100) / 100, align: 'right' as const },
  { header: 'started', value: (n: Node) => n.startedAt?.toISOString() },
];

export function clusterCommand(): Command {
  const cmd = new Command('cluster')
    .description('list the nodes of the mesh with their slots and load')
    .option('--json', 'JSON output');
  withConnectionOptions(cmd);
  cmd.action((f: ConnectionFlags & { json?: boolean }) =>
    runAction('cluster', async () => {
      const client = connect(f);
      const [me, nodes] = await Promise.all([client.whoAmI(), client.listNodes()]);
      if (f.json) process.stdout.write(renderJson({ gateway: client.address, user: me.user, nodes }));
      else process.stdout.write(`gateway ${client.address} (you are ${me.user})\n\n` + renderTable(columns, nodes));
    }),
  );
  return cmd;
}
