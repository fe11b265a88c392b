import { runMicroBatch } from '../../lambda/runtime/batch';
import { parseMskEvent, toMskEvent } from '../../lambda/runtime/event';
import type { Job } from '../../lambda/runtime/job';
import type { RedriveDeps } from '../../lambda/runtime/redrive';
import type { CheckpointStore, SinkStore } from '../../lambda/runtime/store';

/** A redrive's `apply` as the handlers build it: partition 0 of `test`, through the job, in `redrive` mode. */
export function redriveApply(
  job: Job,
  deps: { checkpoints: CheckpointStore; sink: SinkStore; clock: () => Date },
): RedriveDeps['apply'] {
  return async (records, contiguousFrom, onCommit, logStart) => {
    await runMicroBatch(
      job,
      parseMskEvent(toMskEvent(records, { eventSourceArn: 'a', bootstrapServers: 'b' })),
      {
        ...deps,
        log: () => undefined,
        mode: 'redrive',
        contiguousFrom: new Map([['test-0', contiguousFrom]]),
        logStart: new Map([['test-0', logStart]]),
        onCommit,
      },
    );
  };
}
