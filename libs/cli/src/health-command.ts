// `flowmesh health --address host:port [--service name]`: one grpc.health.v1 Check, exit 0 when SERVING and 1
// otherwise. The container HEALTHCHECK (deploy/Dockerfile) runs it; it needs no credentials.
import { Command } from 'commander';
import { credentials, makeClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
// Deliberately not @flowmesh/runtime: a container probe with a 3 s timeout should load as little as possible.
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

interface HealthClient extends Client {
  check(
    req: { service: string },
    opts: { deadline: Date },
    cb: (err: ServiceError | null, res?: { status: string }) => void,
  ): void;
}
const HealthClientCtor = makeClientConstructor(healthService, 'grpc.health.v1.Health') as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => HealthClient;

function fail(message: string): never {
  process.stderr.write(`flowmesh health: ${message}\n`);
  process.exit(2);
}

export function healthCommand(): Command {
  const command = new Command('health').description('check a service through grpc.health.v1 (exit 0 when SERVING)');
  command
    .option('--address <host:port>', 'service to ask (env FLOWMESH_HEALTH_ADDRESS; default "127.0.0.1:7000")')
    .option('--service <name>', 'a service name such as flowmesh.v1.JobService (default: the whole server)')
    .option('--timeout-ms <ms>', 'deadline of the check (default 2000)');
  command.action(async (opts: { address?: string; service?: string; timeoutMs?: string }) => {
    const address = opts.address ?? process.env.FLOWMESH_HEALTH_ADDRESS ?? '127.0.0.1:7000';
    const timeoutMs = Number(opts.timeoutMs ?? 2000);
    if (!ADDRESS.test(address))
      fail(`invalid --address ${JSON.stringify(address)}: expected host:port (or FLOWMESH_HEALTH_ADDRESS)`);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1)
      fail(`invalid --timeout-ms ${JSON.stringify(opts.timeoutMs)}: expected a positive integer`);
    const config = { address, service: opts.service, timeoutMs };
    const client = new HealthClientCtor(config.address, credentials.createInsecure());
    const result = await new Promise<string>((resolve) => {
      client.check(
        { service: config.service ?? '' },
        { deadline: new Date(Date.now() + config.timeoutMs) },
        (err, res) => resolve(err ? `error: ${err.details || err.message}` : (res?.status ?? 'UNKNOWN')),
      );
    });
    client.close();
    process.stdout.write(`${result}\n`);
    process.exitCode = result === 'SERVING' ? 0 : 1;
  });
  return command;
}
