/**
 * `--cpu-profile`: a V8 CPU profile of the benchmark process over the runner phase (the runner with an empty
 * handler) and one over the pipeline phase (not the loading or the other phases), each written as a .cpuprofile that Chrome DevTools or VS Code open. This is how the hot
 * spots named in bench/README.md were found.
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class CpuProfile {
  private readonly session = new Session();

  private post(method: string, params: object = {}): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.session.post(method, params, (error, result) => (error ? reject(error) : resolve(result)));
    });
  }

  async start(): Promise<void> {
    this.session.connect();
    await this.post('Profiler.enable');
    // 200 µs: fine enough for per-record costs, cheap enough not to move the numbers much.
    await this.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.post('Profiler.start');
  }

  async stop(file: string): Promise<void> {
    const result = (await this.post('Profiler.stop')) as { profile: object };
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(result.profile));
    this.session.disconnect();
  }
}
