/** Lambda entry point of the tutorial job. */
import { handlerFor } from '../runtime/handler';
import { createSentReceivedJob } from '../jobs/sent-received';

export const handler = handlerFor((config) => createSentReceivedJob(config.jobs['sent-received']));
