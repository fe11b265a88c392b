/**
 * Local Kafka + Cassandra for development and tests.
 *
 *   import { up, down, status, reset, resolveEndpoints } from './local/services';
 *
 * Modes (see ./mode.ts): native JVM processes (default without Docker), docker compose
 * (default with a Docker engine), or external services given by env endpoints.
 * State lives in .local/ (git-ignored): cache/ (jars), data/, logs/, run/ (PID files).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ensureArtifacts } from './artifacts';
import { CASSANDRA_PORTS, cassandraJavaArgs, renderCassandraConfig } from './cassandra';
import { compose, composeServiceRunning, findCompose } from './compose';
import { DEFAULT_ENDPOINTS, type Endpoints, overriddenEndpointVars, resolveEndpoints } from './endpoints';
import {
  ServicesSettingError,
  HealthTimeoutError,
  PortInUseError,
  ServicesError,
  ServiceStartError,
  ServiceStopError,
  type ServiceName,
  UnsupportedOperationError,
  UpFailedError,
  describe,
} from './errors';
import { KAFKA_VERSION_ENV, readPinnedVersions, resolveVersions } from './config';
import { checkCassandra, checkKafka, waitUntilHealthy } from './health';
import { type JavaResolution, resolveJava17 } from './java';
import { KAFKA_PORTS, formatKafkaStorageIfNeeded, kafkaJavaArgs, renderKafkaConfig } from './kafka';
import { withLock } from './lock';
import { resolveMode, type ServicesMode } from './mode';
import {
  type Layout,
  kafkaVersionFile,
  layout,
  mainLogFile,
  outLogFile,
  pidFile,
  renderedConfDir,
  serviceDataDir,
} from './paths';
import {
  fileSize,
  isAlive,
  livePid,
  logTail,
  portOpen,
  removePidFile,
  spawnDetached,
  stopProcess,
} from './proc';

export { resolveEndpoints, DEFAULT_ENDPOINTS, type Endpoints } from './endpoints';
export { resolveMode, dockerEngineAvailable, SERVICES_MODES, type ServicesMode } from './mode';
export { resolveJava17 } from './java';
export { ensureArtifacts } from './artifacts';
export { KAFKA_VERSION_ENV, readPinnedVersions, resolveVersions } from './config';
export * from './errors';

export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'cassandra'];

export type Log = (line: string) => void;

export interface CommonOptions {
  /** Defaults to resolveMode(): MICROBATCH_SERVICES, else compose with a Docker engine, else native. */
  mode?: ServicesMode;
  log?: Log;
  /** Repository root (tests); defaults to the checkout this file is in. */
  root?: string;
}

export interface UpOptions extends CommonOptions {
  /** Per-service limit for becoming healthy, in ms. */
  timeoutMs?: Partial<Record<ServiceName, number>>;
}

export interface UpResult {
  mode: ServicesMode;
  /** Started by this call. */
  started: ServiceName[];
  /** Already running and healthy (or already starting), left as they were. */
  reused: ServiceName[];
  endpoints: Endpoints;
}

export interface DownOptions extends CommonOptions {
  /** Only these services (default: all). */
  services?: readonly ServiceName[];
  /** Per-service time between SIGTERM and SIGKILL, in ms (native mode). */
  graceMs?: Partial<Record<ServiceName, number>>;
}

export interface DownResult {
  stopped: ServiceName[];
  notRunning: ServiceName[];
}

export interface ServiceStatus {
  service: ServiceName;
  mode: ServicesMode;
  /** A process (native) or container (compose) is running; in external mode, same as healthy. */
  running: boolean;
  healthy: boolean;
  /** Native mode: the PID from .local/run/<service>.pid, if that process is alive and ours. */
  pid?: number;
  endpoint: string;
  /** Health-check answer, or its error. */
  detail: string;
}

/**
 * Limits for becoming healthy. Measured on 2 cores: Kafka 2-5 s, Cassandra 6-10 s; the
 * limits leave room for a loaded CI machine and (compose) for image pulls.
 */
const DEFAULT_UP_TIMEOUT_MS: Record<ServicesMode, Record<ServiceName, number>> = {
  native: { kafka: 90_000, cassandra: 240_000 },
  compose: { kafka: 120_000, cassandra: 300_000 },
  external: { kafka: 30_000, cassandra: 30_000 },
};
const DEFAULT_GRACE_MS: Record<ServiceName, number> = { kafka: 30_000, cassandra: 60_000 };
const QUICK_CHECK_MS = 3000;

interface Ctx {
  mode: ServicesMode;
  l: Layout;
  log: Log;
  /** What native mode runs: the pom's versions, Kafka's overridden by MICROBATCH_KAFKA_VERSION. */
  versions: Record<ServiceName, string>;
}

function ctxOf(o: CommonOptions | undefined): Ctx {
  const l = layout(o?.root);
  return {
    mode: o?.mode ?? resolveMode(),
    l,
    log: o?.log ?? (() => undefined),
    versions: resolveVersions(l.pomFile),
  };
}

/** The Kafka version the native broker of this checkout was started with, if it recorded one. */
function runningKafkaVersion(l: Layout): string | undefined {
  try {
    return readFileSync(kafkaVersionFile(l), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Native and compose mode serve on fixed local addresses. If the env points elsewhere the
 * rest of the app would talk to different services than the ones we manage: refuse.
 */
function endpointsFor(mode: ServicesMode): Endpoints {
  if (mode === 'external') return resolveEndpoints();
  const over = overriddenEndpointVars();
  if (over.length) {
    throw new ServicesSettingError(
      `${over.join(', ')} ${over.length > 1 ? 'are' : 'is'} set, but ${mode} mode serves Kafka on ` +
        `${DEFAULT_ENDPOINTS.kafkaBrokers.join(',')} and Cassandra on ${DEFAULT_ENDPOINTS.cassandraContactPoints.join(',')} ` +
        `(DC ${DEFAULT_ENDPOINTS.cassandraLocalDataCenter}). Unset ${over.length > 1 ? 'them' : 'it'}, ` +
        'or set MICROBATCH_SERVICES=external to use those endpoints.',
    );
  }
  return {
    kafkaBrokers: [...DEFAULT_ENDPOINTS.kafkaBrokers],
    cassandraContactPoints: [...DEFAULT_ENDPOINTS.cassandraContactPoints],
    cassandraLocalDataCenter: DEFAULT_ENDPOINTS.cassandraLocalDataCenter,
  };
}

export function endpointOf(service: ServiceName, e: Endpoints): string {
  return service === 'kafka' ? e.kafkaBrokers.join(',') : e.cassandraContactPoints.join(',');
}

function check(service: ServiceName, e: Endpoints, timeoutMs: number): Promise<string> {
  return service === 'kafka'
    ? checkKafka(e.kafkaBrokers, timeoutMs)
    : checkCassandra(e.cassandraContactPoints, e.cassandraLocalDataCenter, timeoutMs);
}

async function quickCheck(service: ServiceName, e: Endpoints): Promise<{ healthy: boolean; detail: string }> {
  try {
    return { healthy: true, detail: await check(service, e, QUICK_CHECK_MS) };
  } catch (err) {
    return { healthy: false, detail: describe(err) };
  }
}

/** The string that marks a process as ours in its command line: its rendered config path. */
function marker(l: Layout, s: ServiceName): string {
  return path.join(renderedConfDir(l, s), s === 'kafka' ? 'server.properties' : 'cassandra.yaml');
}

// ---------------------------------------------------------------------------------------
// up

/**
 * Start whatever is not already healthy, and wait until both services answer real client
 * requests. Idempotent: a healthy service is reused, never restarted.
 * Throws UpFailedError (listing what it did start) if any service fails.
 */
export async function up(opts?: UpOptions): Promise<UpResult> {
  const ctx = ctxOf(opts);
  const endpoints = endpointsFor(ctx.mode);
  const timeouts = { ...DEFAULT_UP_TIMEOUT_MS[ctx.mode], ...opts?.timeoutMs };
  switch (ctx.mode) {
    case 'native':
      return withLock(ctx.l, ctx.log, () => upNative(ctx, endpoints, timeouts));
    case 'compose':
      return upCompose(ctx, endpoints, timeouts);
    case 'external':
      return upExternal(ctx, endpoints, timeouts);
  }
}

async function upExternal(ctx: Ctx, e: Endpoints, timeouts: Record<ServiceName, number>): Promise<UpResult> {
  const results = await Promise.allSettled(
    SERVICE_NAMES.map((s) =>
      waitUntilHealthy(
        (t) => check(s, e, t),
        { timeoutMs: timeouts[s] },
        (last) => {
          return new HealthTimeoutError(s, endpointOf(s, e), timeouts[s], undefined, last);
        },
      ).then((detail) => ctx.log(`${s}: healthy at ${endpointOf(s, e)} (${detail}), external`)),
    ),
  );
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [asServicesError(r.reason)] : []));
  if (failures.length) throw new UpFailedError(failures, []);
  return { mode: 'external', started: [], reused: [...SERVICE_NAMES], endpoints: e };
}

async function upCompose(ctx: Ctx, e: Endpoints, timeouts: Record<ServiceName, number>): Promise<UpResult> {
  const before = await Promise.all(SERVICE_NAMES.map((s) => quickCheck(s, e)));
  const reused = SERVICE_NAMES.filter((_, i) => before[i]?.healthy);
  const toStart = SERVICE_NAMES.filter((s) => !reused.includes(s));
  if (toStart.length === 0) return { mode: 'compose', started: [], reused, endpoints: e };
  const c = findCompose();
  // `up` of the whole file: compose leaves running, unchanged containers alone.
  await compose(ctx.l, c, ['up', '-d', ...(c.supportsWait ? ['--wait'] : [])], ctx.log);
  const results = await Promise.allSettled(
    toStart.map((s) =>
      waitUntilHealthy(
        (t) => check(s, e, t),
        { timeoutMs: timeouts[s] },
        (last) => {
          return new HealthTimeoutError(s, endpointOf(s, e), timeouts[s], undefined, last);
        },
      ),
    ),
  );
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [asServicesError(r.reason)] : []));
  // The containers were created by this call even if unhealthy: report them for cleanup.
  if (failures.length) throw new UpFailedError(failures, toStart);
  return { mode: 'compose', started: toStart, reused, endpoints: e };
}

type Plan =
  | { s: ServiceName; action: 'reuse'; detail: string }
  | { s: ServiceName; action: 'wait'; pid: number }
  | { s: ServiceName; action: 'start' };

async function upNative(ctx: Ctx, e: Endpoints, timeouts: Record<ServiceName, number>): Promise<UpResult> {
  const { l, log } = ctx;
  const failures: ServicesError[] = [];

  // 1. What is already there?
  const plans: Plan[] = [];
  for (const s of SERVICE_NAMES) {
    const h = await quickCheck(s, e);
    const pid = livePid(pidFile(l, s), marker(l, s));
    const running = s === 'kafka' && pid !== undefined ? runningKafkaVersion(l) : undefined;
    if (running !== undefined && running !== ctx.versions.kafka) {
      // Reusing it would test, or run, another Kafka than the one asked for without a word.
      failures.push(
        new ServicesSettingError(
          `Kafka ${running} (pid ${pid}) is running, but Kafka ${ctx.versions.kafka} was asked for ` +
            `(${KAFKA_VERSION_ENV}=${process.env[KAFKA_VERSION_ENV] ?? 'unset: the default'}). Stop it first (\`npm run local:down\`), or ask for ${running}.`,
        ),
      );
      continue;
    }
    if (h.healthy) {
      log(
        `${s}: already healthy at ${endpointOf(s, e)} (${h.detail})` +
          (pid ? `, pid ${pid}` : ', not started by this project, so its version is unknown'),
      );
      plans.push({ s, action: 'reuse', detail: h.detail });
    } else if (pid !== undefined) {
      log(`${s}: pid ${pid} is running but not healthy yet; waiting for it`);
      plans.push({ s, action: 'wait', pid });
    } else {
      const ports = s === 'kafka' ? KAFKA_PORTS : CASSANDRA_PORTS;
      const busy = (
        await Promise.all(ports.map(async (p) => ((await portOpen('127.0.0.1', p)) ? p : undefined)))
      ).find((p) => p !== undefined);
      if (busy !== undefined) failures.push(new PortInUseError(s, busy));
      else plans.push({ s, action: 'start' });
    }
  }

  // 2. Prepare and spawn, one at a time (Maven and StorageTool are CPU-heavy on 2 cores).
  let java: JavaResolution | undefined;
  const waiting: { s: ServiceName; pid: number; spawned: boolean; logsFrom: LogOffsets }[] = [];
  for (const p of plans) {
    if (p.action === 'wait')
      waiting.push({ s: p.s, pid: p.pid, spawned: false, logsFrom: { main: 0, out: 0 } });
    if (p.action !== 'start') continue;
    try {
      java ??= resolveJava17();
      const logsFrom = logOffsets(l, p.s);
      const pid = await startNative(ctx, p.s, java);
      waiting.push({ s: p.s, pid, spawned: true, logsFrom });
    } catch (err) {
      failures.push(asServicesError(err, p.s));
    }
  }

  // 3. Wait for health, both at once.
  const started: ServiceName[] = [];
  await Promise.all(
    waiting.map(async (w) => {
      const t0 = Date.now();
      try {
        const detail = await waitUntilHealthy(
          (t) => check(w.s, e, t),
          {
            timeoutMs: timeouts[w.s],
            abortCheck: () => {
              if (!isAlive(w.pid)) {
                removePidFile(pidFile(l, w.s));
                throw new ServiceStartError(
                  w.s,
                  `${w.s} (pid ${w.pid}) exited during startup.\n${lastLines(l, w.s, w.logsFrom)}`,
                  mainLogFile(l, w.s),
                );
              }
            },
          },
          (last) => new HealthTimeoutError(w.s, endpointOf(w.s, e), timeouts[w.s], mainLogFile(l, w.s), last),
        );
        log(`${w.s}: healthy after ${((Date.now() - t0) / 1000).toFixed(1)} s (${detail}), pid ${w.pid}`);
        if (w.spawned) started.push(w.s);
      } catch (err) {
        failures.push(asServicesError(err, w.s));
        if (w.spawned && isAlive(w.pid)) {
          // Ours, and not healthy in time: do not leave a half-started JVM behind.
          log(`${w.s}: stopping pid ${w.pid}, which did not become healthy`);
          await stopProcess(w.pid, DEFAULT_GRACE_MS[w.s]).catch(() => undefined);
          removePidFile(pidFile(l, w.s));
        }
      }
    }),
  );

  if (failures.length) throw new UpFailedError(failures, started);
  const reused = SERVICE_NAMES.filter((s) => !started.includes(s));
  return { mode: 'native', started: SERVICE_NAMES.filter((s) => started.includes(s)), reused, endpoints: e };
}

async function startNative(ctx: Ctx, s: ServiceName, java: JavaResolution): Promise<number> {
  const { l, log } = ctx;
  const version = ctx.versions[s];
  const lib = await ensureArtifacts(l, s, version, log);
  mkdirSync(serviceDataDir(l, s), { recursive: true });
  let args: string[];
  if (s === 'kafka') {
    const files = renderKafkaConfig(l, version);
    await formatKafkaStorageIfNeeded(l, java.bin, lib, files, log);
    args = kafkaJavaArgs(l, lib, files);
    mkdirSync(l.runDir, { recursive: true });
    writeFileSync(kafkaVersionFile(l), `${version}\n`);
  } else {
    args = cassandraJavaArgs(l, lib, renderCassandraConfig(l));
  }
  const pid = await spawnDetached(java.bin, args, {
    cwd: l.root,
    logFile: outLogFile(l, s),
    pidFile: pidFile(l, s),
    // cassandra-env.sh exports MALLOC_ARENA_MAX=4: glibc's default (8 per core) lets the
    // native memory of a many-threaded JVM grow for nothing.
    env:
      s === 'cassandra'
        ? { ...process.env, MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '4' }
        : process.env,
  });
  log(
    `${s} ${version}: started pid ${pid} with ${java.bin} (${java.source}); log ${path.relative(l.root, mainLogFile(l, s))}`,
  );
  return pid;
}

interface LogOffsets {
  main: number;
  out: number;
}

function logOffsets(l: Layout, s: ServiceName): LogOffsets {
  return { main: fileSize(mainLogFile(l, s)), out: fileSize(outLogFile(l, s)) };
}

/** What the service logged since `from`: the JVM's own output first (that is where a JVM that cannot start says why). */
function lastLines(l: Layout, s: ServiceName, from: LogOffsets): string {
  const files = [
    { file: outLogFile(l, s), since: from.out },
    { file: mainLogFile(l, s), since: from.main },
  ];
  const parts = files.map(({ file, since }) => {
    const text = logTail(file, 12, since);
    return text ? `--- last lines of ${path.relative(l.root, file)}:\n${text}` : '';
  });
  return parts.filter(Boolean).join('\n') || '(nothing was logged)';
}

function asServicesError(err: unknown, s?: ServiceName): ServicesError {
  if (err instanceof ServicesError) return err;
  return s
    ? new ServiceStartError(s, `${s}: ${describe(err)}`, undefined, { cause: err })
    : new ServicesError(describe(err), { cause: err });
}

// ---------------------------------------------------------------------------------------
// down / reset / status

/** Stop services: SIGTERM, then SIGKILL after a grace period (native); `compose down` (compose). */
export async function down(opts?: DownOptions): Promise<DownResult> {
  const ctx = ctxOf(opts);
  const services = opts?.services ?? SERVICE_NAMES;
  switch (ctx.mode) {
    case 'native':
      return withLock(ctx.l, ctx.log, async () => {
        const result = await downNative(ctx, services, { ...DEFAULT_GRACE_MS, ...opts?.graceMs });
        await reportNotOurs(ctx, result.notRunning, endpointsFor(ctx.mode));
        return result;
      });
    case 'compose':
      return downCompose(ctx, services, false);
    case 'external':
      ctx.log('external mode: services are not ours to stop');
      return { stopped: [], notRunning: [] };
  }
}

async function downNative(
  ctx: Ctx,
  services: readonly ServiceName[],
  grace: Record<ServiceName, number>,
): Promise<DownResult> {
  const { l, log } = ctx;
  const result: DownResult = { stopped: [], notRunning: [] };
  await Promise.all(
    services.map(async (s) => {
      const pid = livePid(pidFile(l, s), marker(l, s));
      if (pid === undefined) {
        result.notRunning.push(s);
        return;
      }
      const t0 = Date.now();
      let outcome;
      try {
        outcome = await stopProcess(pid, grace[s]);
      } catch (err) {
        throw new ServiceStopError(s, pid, { cause: err });
      }
      removePidFile(pidFile(l, s));
      log(`${s}: pid ${pid} ${outcome} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      result.stopped.push(s);
    }),
  );
  const order = (xs: ServiceName[]): ServiceName[] => SERVICE_NAMES.filter((s) => xs.includes(s));
  return { stopped: order(result.stopped), notRunning: order(result.notRunning) };
}

async function downCompose(
  ctx: Ctx,
  services: readonly ServiceName[],
  volumes: boolean,
): Promise<DownResult> {
  const c = findCompose();
  const running = services.filter((s) => composeServiceRunning(ctx.l, c, s));
  const all = SERVICE_NAMES.every((s) => services.includes(s));
  if (all) await compose(ctx.l, c, ['down', ...(volumes ? ['-v'] : [])], ctx.log);
  else await compose(ctx.l, c, ['rm', '-s', '-f', ...(volumes ? ['-v'] : []), ...services], ctx.log);
  return { stopped: running, notRunning: services.filter((s) => !running.includes(s)) };
}

/** Of `services`, those that answer on their endpoint with no process of this checkout's behind them. */
async function foreignServices(
  ctx: Ctx,
  services: readonly ServiceName[],
  e: Endpoints,
): Promise<ServiceName[]> {
  const foreign: ServiceName[] = [];
  for (const s of services) {
    if (livePid(pidFile(ctx.l, s), marker(ctx.l, s)) !== undefined) continue;
    if ((await quickCheck(s, e)).healthy) foreign.push(s);
  }
  return foreign;
}

/**
 * Native `reset` wipes this checkout's `.local/data`. A service that answers on the endpoint without a process of
 * this checkout (another checkout's, or one of the user's own, which `up` reuses) keeps its data elsewhere: wiping
 * ours would change nothing that the jobs see while saying it wiped their data. Refuse, before stopping anything.
 */
async function refuseForeignServices(ctx: Ctx, e: Endpoints): Promise<void> {
  const foreign = await foreignServices(ctx, SERVICE_NAMES, e);
  if (!foreign.length) return;
  const one = foreign.length === 1;
  throw new UnsupportedOperationError(
    `reset wipes the data of the services this checkout started, but ${foreign
      .map((s) => `${s} at ${endpointOf(s, e)}`)
      .join(' and ')} ${one ? 'is' : 'are'} running and ${one ? 'was' : 'were'} not started by it ` +
      `(${ctx.l.root}), so ${one ? 'its' : 'their'} data is not in .local/data and reset would wipe none of it. ` +
      `Stop ${one ? 'it' : 'them'} where ${one ? 'it was' : 'they were'} started (\`npm run local:down\` in that ` +
      'checkout) and run reset again, or drop the keyspaces and topics you created instead. Nothing was stopped or wiped.',
  );
}

/**
 * What `down` says of the services it found no process of this checkout's for: one that still answers was started
 * elsewhere (another checkout, or the user's own) and keeps running, which a silent exit 0 would hide.
 */
async function reportNotOurs(ctx: Ctx, services: readonly ServiceName[], e: Endpoints): Promise<void> {
  const foreign = await foreignServices(ctx, services, e);
  for (const s of services) {
    if (foreign.includes(s))
      ctx.log(
        `${s} at ${endpointOf(s, e)} keeps running: this checkout (${ctx.l.root}) did not start it. Stop it where ` +
          'it was started (`npm run local:down` in that checkout).',
      );
    else ctx.log(`${s}: not running`);
  }
}

/** down, then wipe the data (native: .local/data/<service>; compose: the named volumes). Jars stay cached. */
export async function reset(opts?: CommonOptions): Promise<DownResult> {
  const ctx = ctxOf(opts);
  switch (ctx.mode) {
    case 'native':
      return withLock(ctx.l, ctx.log, async () => {
        await refuseForeignServices(ctx, endpointsFor(ctx.mode));
        const r = await downNative(ctx, SERVICE_NAMES, DEFAULT_GRACE_MS);
        for (const s of SERVICE_NAMES) {
          rmSync(serviceDataDir(ctx.l, s), { recursive: true, force: true });
          ctx.log(`${s}: wiped ${path.relative(ctx.l.root, serviceDataDir(ctx.l, s))}`);
        }
        return r;
      });
    case 'compose':
      return downCompose(ctx, SERVICE_NAMES, true);
    case 'external':
      throw new UnsupportedOperationError(
        'reset is not available in external mode: the services and their data belong to someone else. ' +
          'Drop the keyspaces and topics you created instead.',
      );
  }
}

export async function status(opts?: CommonOptions): Promise<ServiceStatus[]> {
  const ctx = ctxOf(opts);
  const e = ctx.mode === 'external' ? resolveEndpoints() : endpointsFor(ctx.mode);
  const c = ctx.mode === 'compose' ? findCompose() : undefined;
  return Promise.all(
    SERVICE_NAMES.map(async (s): Promise<ServiceStatus> => {
      const h = await quickCheck(s, e);
      const base = {
        service: s,
        mode: ctx.mode,
        healthy: h.healthy,
        endpoint: endpointOf(s, e),
        detail: h.detail,
      };
      if (ctx.mode === 'native') {
        const pid = livePid(pidFile(ctx.l, s), marker(ctx.l, s));
        return { ...base, running: pid !== undefined, ...(pid !== undefined ? { pid } : {}) };
      }
      if (c) return { ...base, running: composeServiceRunning(ctx.l, c, s) };
      return { ...base, running: h.healthy };
    }),
  );
}

/**
 * Fetch the services' jars now (so that a later `up` does not have to): the versions `up`
 * would run, and with `allTested` also every Kafka the tests run (local/maven/pom.xml), so
 * that a run in a network namespace finds them all.
 */
export async function fetchArtifacts(
  opts?: Omit<CommonOptions, 'mode'> & { readonly allTested?: boolean },
): Promise<string[]> {
  const l = layout(opts?.root);
  const log = opts?.log ?? (() => undefined);
  const versions = resolveVersions(l.pomFile);
  const kafkas = new Set([versions.kafka]);
  if (opts?.allTested) {
    const pinned = readPinnedVersions(l.pomFile);
    kafkas.add(pinned.kafka).add(pinned.kafkaAlsoTested);
  }
  const dirs: string[] = [];
  for (const v of kafkas) dirs.push(await ensureArtifacts(l, 'kafka', v, log));
  dirs.push(await ensureArtifacts(l, 'cassandra', versions.cassandra, log));
  return dirs;
}
