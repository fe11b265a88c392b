/**
 * Typed errors of the local service manager.
 *
 * Every message says what is wrong and how to fix it; errors about a service that
 * failed to start name the log file to read. Catch `ServicesError` for all of them.
 */

export type ServiceName = 'kafka' | 'cassandra';

/** Base class: `name` is the concrete class name, `cause` the underlying error (if any). */
export class ServicesError extends Error {
  override readonly cause?: unknown;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    this.name = new.target.name;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/**
 * A bad setting of the services: an environment variable with an invalid value, settings that contradict each
 * other, or a broken service config file. (The pipeline's own config errors are `ConfigError`, config/index.ts.)
 */
export class ServicesSettingError extends ServicesError {}

/** A tool the chosen mode needs is not installed (Java 17, Maven, docker compose). */
export class PrerequisiteError extends ServicesError {
  constructor(
    readonly missing: string,
    readonly hint: string,
    options?: { cause?: unknown; detail?: string },
  ) {
    super(`${missing} not found${options?.detail ? ` (${options.detail})` : ''}. ${hint}`, options);
  }
}

export class JavaNotFoundError extends PrerequisiteError {}
export class MavenNotFoundError extends PrerequisiteError {}
export class ComposeNotFoundError extends PrerequisiteError {}

/** Maven could not fetch a service's jars. */
export class ArtifactFetchError extends ServicesError {
  constructor(
    readonly service: ServiceName,
    readonly logFile: string,
    outputTail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Fetching the ${service} jars with Maven failed; see ${logFile}.` +
        (outputTail ? `\nLast lines:\n${outputTail}` : '') +
        '\nMaven Central must be reachable (or the artifacts already in ~/.m2). ' +
        'Re-run to retry; `reset` does not touch the jar cache.',
      options,
    );
  }
}

/** A service could not be started, or its process exited during startup. */
export class ServiceStartError extends ServicesError {
  constructor(
    readonly service: ServiceName,
    message: string,
    readonly logFile: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message + (logFile ? `\nSee ${logFile}.` : ''), options);
  }
}

/** A service did not answer its health check within the time limit. */
export class HealthTimeoutError extends ServiceStartError {
  constructor(
    service: ServiceName,
    readonly endpoint: string,
    readonly timeoutMs: number,
    logFile: string | undefined,
    lastError: unknown,
  ) {
    super(
      service,
      `${service} at ${endpoint} was not healthy within ${Math.round(timeoutMs / 1000)} s` +
        ` (last health-check error: ${describe(lastError)}).`,
      logFile,
      { cause: lastError },
    );
  }
}

/** A port the service needs is taken by something that is not a healthy instance of it. */
export class PortInUseError extends ServiceStartError {
  constructor(
    service: ServiceName,
    readonly port: number,
  ) {
    super(
      service,
      `Port ${port} on 127.0.0.1, needed by ${service}, is already in use by a process that is not a healthy ${service}. ` +
        `Find it with \`ss -ltnp 'sport = :${port}'\` and stop it, or use MICROBATCH_SERVICES=external with the right endpoints.`,
      undefined,
    );
  }
}

/** A process would not stop, even after SIGKILL. */
export class ServiceStopError extends ServicesError {
  constructor(
    readonly service: ServiceName,
    readonly pid: number,
    options?: { cause?: unknown },
  ) {
    super(
      `${service} (pid ${pid}) did not exit after SIGTERM and SIGKILL; check it with \`ps -p ${pid}\`.`,
      options,
    );
  }
}

/** `up` failed for at least one service. Services listed in `started` were started by this call and are still running. */
export class UpFailedError extends ServicesError {
  constructor(
    readonly failures: ServicesError[],
    readonly started: ServiceName[],
  ) {
    super(
      failures.map((f) => f.message).join('\n') +
        (started.length ? `\n(Started by this call and still running: ${started.join(', ')}.)` : ''),
      { cause: failures[0] },
    );
  }
}

/** The operation does not exist in this mode (e.g. `reset` of external services). */
export class UnsupportedOperationError extends ServicesError {}

/** A one-line description of any thrown value. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const inner = (err as { innerErrors?: unknown }).innerErrors;
    // cassandra-driver's NoHostAvailableError keeps the useful part per host.
    if (inner && typeof inner === 'object' && Object.keys(inner).length > 0) {
      const parts = Object.entries(inner as Record<string, unknown>).map(([h, e]) => `${h}: ${describe(e)}`);
      return `${err.name}: ${parts.join('; ')}`;
    }
    return `${err.name}: ${err.message}`;
  }
  return String(err);
}
