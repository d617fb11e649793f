// ClusterService: nodes from discovery; typed resources and API keys proxied to config-store with the
// caller as actor; every change audited; a revoked or deleted key stops working at once on this gateway.
import {
  ResourceKind,
  type ClusterServiceCreateApiKeyRequest,
  type ClusterServiceCreateApiKeyResponse,
  type ClusterServiceServer,
  type DeleteResourceRequest,
  type DeleteResourceResponse,
  type GetResourceRequest,
  type GetResourceResponse,
  type ListNodesRequest,
  type ListNodesResponse,
  type ListResourcesRequest,
  type ListResourcesResponse,
  type PutResourceRequest,
  type PutResourceResponse,
  type WhoAmIRequest,
  type WhoAmIResponse,
} from '@flowmesh/contracts';
import { InvalidArgumentError, NotFoundError, unary } from '@flowmesh/runtime';
import type { Guard } from '../access/guard.js';
import type { Authenticator } from '../access/authenticator.js';
import type { Store } from '../downstream/store.js';
import { nodeKindName, toNode, type NodeInfoLike } from './node-view.js';

export interface ClusterServiceDeps {
  store: Store;
  guard: Guard;
  auth: Authenticator;
  nodes: () => NodeInfoLike[];
}

function requireKind(kind: ResourceKind): void {
  if (kind === ResourceKind.RESOURCE_KIND_UNSPECIFIED || kind === ResourceKind.UNRECOGNIZED) {
    throw new InvalidArgumentError('kind', 'name the resource kind');
  }
}

export function createClusterService(deps: ClusterServiceDeps): ClusterServiceServer {
  const { store, guard } = deps;

  async function audited<T>(
    identity: Parameters<Guard['recordChange']>[0],
    method: string,
    target: string,
    work: () => Promise<T>,
    ok: (r: T) => string,
  ): Promise<T> {
    try {
      const r = await work();
      guard.recordChange(identity, method, target, ok(r));
      return r;
    } catch (err) {
      guard.recordChange(identity, method, target, `failed: ${(err as Error).message}`);
      throw err;
    }
  }

  return {
    listNodes: unary(async (req: ListNodesRequest, ctx): Promise<ListNodesResponse> => {
      await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      const kind = req.kind ? nodeKindName(req.kind) : undefined;
      const nodes = deps
        .nodes()
        .filter((n) => !kind || n.kind === kind)
        .map(toNode)
        .sort((a, b) => a.kind - b.kind || a.id.localeCompare(b.id));
      return { nodes };
    }),

    getResource: unary(async (req: GetResourceRequest, ctx): Promise<GetResourceResponse> => {
      await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      requireKind(req.kind);
      const res = await store.get({ kind: req.kind, name: req.name, flowRevision: 0 }, ctx);
      if (!res.resource) throw new NotFoundError(`${ResourceKind[req.kind]} ${req.name} not found`);
      return { resource: res.resource };
    }),

    listResources: unary(async (req: ListResourcesRequest, ctx): Promise<ListResourcesResponse> => {
      await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      requireKind(req.kind);
      const res = await store.list(
        { kind: req.kind, prefix: req.prefix, pageSize: req.pageSize, pageToken: req.pageToken },
        ctx,
      );
      return { resources: res.resources, nextPageToken: res.nextPageToken };
    }),

    putResource: unary(async (req: PutResourceRequest, ctx): Promise<PutResourceResponse> => {
      const identity = await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      if (!req.resource) throw new InvalidArgumentError('resource', 'send the resource to store');
      requireKind(req.resource.kind);
      const target = `${kindLabel(req.resource.kind)}/${req.resource.name}`;
      const res = await audited(
        identity,
        ctx.method,
        target,
        () => store.put({ resource: req.resource, expectedRevision: req.expectedRevision, actor: identity.user }, ctx),
        (r) => `stored at revision ${r.revision}`,
      );
      if (
        req.resource.kind === ResourceKind.RESOURCE_KIND_API_KEY ||
        req.resource.kind === ResourceKind.RESOURCE_KIND_USER
      )
        deps.auth.invalidate();
      return { resource: res.resource };
    }),

    deleteResource: unary(async (req: DeleteResourceRequest, ctx): Promise<DeleteResourceResponse> => {
      const identity = await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      requireKind(req.kind);
      const target = `${kindLabel(req.kind)}/${req.name}`;
      const res = await audited(
        identity,
        ctx.method,
        target,
        () =>
          store.delete(
            { kind: req.kind, name: req.name, expectedRevision: req.expectedRevision, actor: identity.user },
            ctx,
          ),
        (r) => (r.deleted ? 'deleted' : 'did not exist'),
      );
      if (req.kind === ResourceKind.RESOURCE_KIND_API_KEY || req.kind === ResourceKind.RESOURCE_KIND_USER)
        deps.auth.invalidate();
      return { deleted: res.deleted };
    }),

    createApiKey: unary(
      async (req: ClusterServiceCreateApiKeyRequest, ctx): Promise<ClusterServiceCreateApiKeyResponse> => {
        const identity = await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
        if (!req.user) throw new InvalidArgumentError('user', 'name the user the key belongs to');
        if (!req.role) throw new InvalidArgumentError('role', 'choose viewer, operator or admin');
        const res = await audited(
          identity,
          ctx.method,
          `user/${req.user}`,
          () =>
            store.createApiKey(
              { user: req.user, role: req.role, description: req.description, actor: identity.user, secret: '' },
              ctx,
            ),
          (r) => `created key ${r.keyId}`,
        );
        return { keyId: res.keyId, secret: res.secret };
      },
    ),

    whoAmI: unary(async (req: WhoAmIRequest, ctx): Promise<WhoAmIResponse> => {
      const identity = await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      return { keyId: identity.keyId, user: identity.user, role: identity.role };
    }),
  };
}

function kindLabel(kind: ResourceKind): string {
  return (ResourceKind[kind] ?? 'UNKNOWN').replace(/^RESOURCE_KIND_/, '').toLowerCase();
}
