/**
 * The batch's figures as CloudWatch EMF metrics, through Powertools. EMF is a log line CloudWatch turns into
 * metrics, so it costs no API call and needs no permission beyond writing logs.
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/metrics/
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { recordLatencies, type BatchReport } from './batch';

export function emfReporter(
  options: { namespace?: string; serviceName?: string } = {},
): (report: BatchReport) => void {
  const metrics = new Metrics({
    namespace: options.namespace ?? process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'MicroBatch',
    serviceName: options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME ?? 'microbatch',
  });
  return (report) => {
    metrics.addDimension('job', report.job);
    metrics.addMetric('RecordsIn', MetricUnit.Count, report.recordsIn);
    metrics.addMetric('RecordsWritten', MetricUnit.Count, report.written);
    metrics.addMetric('Duplicates', MetricUnit.Count, report.duplicates);
    metrics.addMetric('DeadLettered', MetricUnit.Count, report.deadLettered);
    metrics.addMetric('Late', MetricUnit.Count, report.late);
    // Skipped offsets wait in skipped_ranges for a redrive: the alarm on this metric says one is owed.
    metrics.addMetric('SkippedOffsets', MetricUnit.Count, Number(report.skipped));
    metrics.addMetric('FilteredOffsets', MetricUnit.Count, Number(report.filtered));
    metrics.addMetric('Deferred', MetricUnit.Count, report.deferred);
    metrics.addMetric('Lost', MetricUnit.Count, Number(report.lost));
    metrics.addMetric('BatchDuration', MetricUnit.Milliseconds, report.durationMs);
    if (report.watermarkMs !== null) {
      metrics.addMetric(
        'WatermarkDelay',
        MetricUnit.Milliseconds,
        Math.max(0, report.startedAt.getTime() - report.watermarkMs),
      );
    }
    // A replay's or a redrive's records are as old as the data it re-reads: only the live stream's latency.
    const latency = report.mode === 'live' ? recordLatencies(report) : null;
    if (latency) {
      metrics.addMetric('OldestRecordLatency', MetricUnit.Milliseconds, latency.oldestMs);
      metrics.addMetric('NewestRecordLatency', MetricUnit.Milliseconds, latency.newestMs);
    }
    metrics.publishStoredMetrics();
  };
}
