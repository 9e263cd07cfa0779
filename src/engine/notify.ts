// The contract between the notify workflow (workflows/notify.ts) and its activity: ids only, so neither the event's
// body nor an endpoint's secret ever reaches Temporal history.

/** One run end, to send to each of the endpoints its workspace had when the run ended. */
export interface NotifyRunInput {
  runId: string;
  /** The run's finishedAt (ms): which end this is, when a reopened run ends again. */
  finishedAtMs: number;
  endpointIds: string[];
}

export type DeliveryOutcome = 'delivered' | 'endpoint_gone' | 'run_gone';

export interface NotifyActivities {
  /** One POST to one endpoint; throws to be retried, or a NotificationRefusedError to give up. */
  deliverRunNotification(input: { runId: string; finishedAtMs: number; endpointId: string }): Promise<DeliveryOutcome>;
}

/** A receiver refused the notification (a 4xx other than 408 and 429), or it cannot be signed: not retried. */
export const NOTIFICATION_REFUSED = 'NotificationRefusedError';
