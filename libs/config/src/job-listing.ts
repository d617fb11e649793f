// ListJobs with filters over the generic resource listing. The store has no index by state or flow, so
// filters are applied here, before paging: store pages are read until the caller's page is full or the
// jobs end. Every page the caller sees is then full unless it is the last, and its token resumes right
// after the last job returned — so no matching job is skipped or returned twice (a filter used to apply
// within one store page, and a page could come back short or empty while more matching jobs existed).
// Light on purpose (contracts and key layout only): the gateway imports it as @flowmesh/config/job-listing.
import { ResourceKind, type Job, type JobState, type Resource } from '@flowmesh/contracts';
import { kindPrefix } from './keys.js';

export interface JobFilter {
  /** JOB_STATE_UNSPECIFIED (0): any state. */
  state?: JobState;
  /** '': any flow. */
  flow?: string;
}

export interface JobPageRequest extends JobFilter {
  pageSize: number;
  pageToken: string;
}

/** One page of the store's listing of job resources (the config-store List call). */
export type ListJobResources = (page: {
  pageToken: string;
  pageSize: number;
}) => Promise<{ resources: Resource[]; nextPageToken: string }>;

/** Store pages are read this large at least: a sparse filter should not cost one round trip per few jobs. */
const MIN_READ = 100;
/** The store's largest page. */
const MAX_READ = 1000;

/**
 * The resource store's page token that resumes after `name` of `kind` (resource-store.ts encodes the last
 * key read the same way).
 */
export function pageTokenAfter(kind: ResourceKind, name: string): string {
  return Buffer.from(kindPrefix(kind) + name).toString('base64url');
}

export function jobMatches(job: Job, filter: JobFilter): boolean {
  return (!filter.state || job.state === filter.state) && (!filter.flow || job.flow === filter.flow);
}

/**
 * A full page of matching jobs (fewer only at the end), and the token of the next one ('' when no job is
 * left to look at). Each store read carries the caller's deadline through `list`.
 */
export async function listJobPage(
  list: ListJobResources,
  req: JobPageRequest,
): Promise<{ jobs: Job[]; nextPageToken: string }> {
  const jobs: Job[] = [];
  const read = Math.min(MAX_READ, Math.max(MIN_READ, req.pageSize));
  let pageToken = req.pageToken;
  for (;;) {
    const page = await list({ pageToken, pageSize: read });
    const found = page.resources.filter((r) => r.spec?.$case === 'job' && jobMatches(r.spec.job, req));
    const room = req.pageSize - jobs.length;
    for (const r of found.slice(0, room)) if (r.spec?.$case === 'job') jobs.push(r.spec.job);
    // The page fills inside this store page: resume after the last job returned (by its resource name).
    if (found.length > room)
      return { jobs, nextPageToken: pageTokenAfter(ResourceKind.RESOURCE_KIND_JOB, found[room - 1]!.name) };
    if (!page.nextPageToken) return { jobs, nextPageToken: '' };
    pageToken = page.nextPageToken;
    if (jobs.length === req.pageSize) return { jobs, nextPageToken: pageToken };
  }
}
