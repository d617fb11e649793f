// A view over etcd: list the prefix, then watch from the listing's revision + 1 so no change falls between
// the two. etcd3 reconnects the watch itself and resumes from the last revision it saw; if etcd cancels the
// watch (e.g. that revision was compacted) we list and watch again, and the view emits only the differences.
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { backoffDelay, pause } from '../backoff.js';
import { decodeNodeInfo } from '../node-info.js';
import type { NodeInfo, NodeKindName } from '../types.js';
import { LocalView } from '../view.js';
import { idFromKey, nodesPrefix } from './keys.js';

export function watchEtcd(
  client: Etcd3,
  namespace: string,
  kind: NodeKindName | undefined,
  onClose: (v: LocalView) => void,
): LocalView {
  const prefix = nodesPrefix(namespace, kind);
  const stop = new AbortController();
  let watcher: Watcher | undefined;
  const view: LocalView = new LocalView(kind, () => {
    stop.abort();
    void watcher?.cancel().catch(() => undefined);
    onClose(view);
  });

  const apply = (kv: IKeyValue): void => {
    const node = decodeNodeInfo(kv.value.toString());
    const id = idFromKey(namespace, kv.key.toString());
    // An entry that does not parse is ignored: another version may have written it.
    if (node && node.id === id) view.upsert(node);
  };

  async function sync(): Promise<void> {
    for (let attempt = 0; !stop.signal.aborted; attempt++) {
      if (attempt > 0) await pause(backoffDelay(attempt - 1), stop.signal);
      if (stop.signal.aborted) return;
      try {
        const res = await client.getAll().prefix(prefix).exec();
        const nodes: NodeInfo[] = [];
        for (const kv of res.kvs) {
          const node = decodeNodeInfo(kv.value.toString());
          if (node && node.id === idFromKey(namespace, kv.key.toString())) nodes.push(node);
        }
        view.replaceAll(nodes);
        const next = (BigInt(res.header.revision) + 1n).toString();
        const w = await client.watch().prefix(prefix).startRevision(next).create();
        if (stop.signal.aborted) {
          await w.cancel();
          return;
        }
        watcher = w;
        w.on('put', apply);
        w.on('delete', (kv: IKeyValue) => {
          const id = idFromKey(namespace, kv.key.toString());
          if (id) view.remove(id);
        });
        w.once('error', () => {
          // Cancelled by etcd: start over from a fresh listing.
          void w.cancel().catch(() => undefined);
          if (watcher === w) watcher = undefined;
          void sync();
        });
        return;
      } catch {
        // etcd unreachable or slow: retry with backoff until closed.
      }
    }
  }

  void sync();
  return view;
}
