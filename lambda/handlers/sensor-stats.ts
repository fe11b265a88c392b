/** Lambda entry point of the sensor-stats job. */
import { handlerFor } from '../runtime/handler';
import { createSensorStatsJob } from '../jobs/sensor-stats';

export const handler = handlerFor((config) => createSensorStatsJob(config.jobs['sensor-stats']));
