// FlowService: flows live in config-store (validated there on write, history kept); the gateway checks
// the caller's role, records who changed what, and audits every change.
import {
  ResourceKind,
  type DeleteFlowRequest,
  type DeleteFlowResponse,
  type Flow,
  type FlowServiceServer,
  type GetFlowRequest,
  type GetFlowResponse,
  type ListFlowVersionsRequest,
  type ListFlowVersionsResponse,
  type ListFlowsRequest,
  type ListFlowsResponse,
  type PutFlowRequest,
  type PutFlowResponse,
  type Resource,
} from '@flowmesh/contracts';
import { InvalidArgumentError, NotFoundError, unary } from '@flowmesh/runtime';
import type { Guard } from '../access/guard.js';
import type { Store } from '../downstream/store.js';

const FLOW = ResourceKind.RESOURCE_KIND_FLOW;

export function flowOf(r: Resource | undefined): Flow | undefined {
  if (!r || r.spec?.$case !== 'flow') return undefined;
  return { name: r.name, definition: r.spec.flow, revision: r.revision, updatedBy: r.updatedBy };
}

function requireName(name: string): void {
  if (!name) throw new InvalidArgumentError('name', 'name the flow');
}

export function createFlowService(deps: { store: Store; guard: Guard }): FlowServiceServer {
  const { store, guard } = deps;
  return {
    putFlow: unary(async (req: PutFlowRequest, ctx): Promise<PutFlowResponse> => {
      const identity = await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      requireName(req.name);
      if (!req.source.trim()) throw new InvalidArgumentError('source', 'the flow text is empty');
      try {
        const res = await store.put(
          {
            resource: {
              kind: FLOW,
              name: req.name,
              revision: 0,
              createRevision: 0,
              version: 0,
              updatedAt: undefined,
              updatedBy: identity.user,
              spec: { $case: 'flow', flow: { source: req.source, description: req.description, flowRevision: 0 } },
            },
            expectedRevision: req.expectedRevision,
            actor: identity.user,
          },
          ctx,
        );
        const flow = flowOf(res.resource);
        guard.recordChange(
          identity,
          ctx.method,
          req.name,
          `stored flow revision ${flow?.definition?.flowRevision ?? '?'}`,
        );
        return { flow };
      } catch (err) {
        guard.recordChange(identity, ctx.method, req.name, `failed: ${(err as Error).message}`);
        throw err;
      }
    }),

    getFlow: unary(async (req: GetFlowRequest, ctx): Promise<GetFlowResponse> => {
      await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      requireName(req.name);
      const res = await store.get({ kind: FLOW, name: req.name, flowRevision: req.flowRevision }, ctx);
      const flow = flowOf(res.resource);
      if (!flow) throw new NotFoundError(`flow ${req.name} not found`);
      return { flow };
    }),

    listFlows: unary(async (req: ListFlowsRequest, ctx): Promise<ListFlowsResponse> => {
      await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      const res = await store.list(
        { kind: FLOW, prefix: req.prefix, pageSize: req.pageSize, pageToken: req.pageToken },
        ctx,
      );
      return { flows: res.resources.map(flowOf).filter((f): f is Flow => !!f), nextPageToken: res.nextPageToken };
    }),

    listFlowVersions: unary(async (req: ListFlowVersionsRequest, ctx): Promise<ListFlowVersionsResponse> => {
      await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      requireName(req.name);
      const res = await store.listFlowRevisions({ name: req.name }, ctx);
      return { versions: res.revisions.map(flowOf).filter((f): f is Flow => !!f) };
    }),

    deleteFlow: unary(async (req: DeleteFlowRequest, ctx): Promise<DeleteFlowResponse> => {
      const identity = await guard.check(ctx.method, ctx.metadata, req, ctx.peer);
      requireName(req.name);
      try {
        const res = await store.delete(
          { kind: FLOW, name: req.name, expectedRevision: req.expectedRevision, actor: identity.user },
          ctx,
        );
        guard.recordChange(identity, ctx.method, req.name, res.deleted ? 'deleted' : 'did not exist');
        return { deleted: res.deleted };
      } catch (err) {
        guard.recordChange(identity, ctx.method, req.name, `failed: ${(err as Error).message}`);
        throw err;
      }
    }),
  };
}
