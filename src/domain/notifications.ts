// Run-end notifications (pure): the endpoints a workspace configures, the record of each delivery, and how a
// receiver's answer decides what happens next.
import { z } from 'zod';
import { TimestampFields } from './common';
import type { RunStatus } from './run';

/** Attempts per delivery: with NOTIFY_RETRY's backoff they span about 40 minutes. */
export const NOTIFY_MAX_ATTEMPTS = 10;
/** The activity retry policy of a delivery (workflows/notify.ts): 5 s, 10 s, 20 s … capped at 20 minutes. */
export const NOTIFY_RETRY = { initialIntervalMs: 5_000, backoffCoefficient: 2, maximumIntervalMs: 20 * 60_000 };
/** How long one POST may take before it counts as a failed attempt. */
export const NOTIFY_REQUEST_TIMEOUT_MS = 10_000;
/** Endpoints per workspace: each run end fans out to all of them. */
export const MAX_NOTIFICATION_ENDPOINTS = 20;

export const NotificationUrl = z
  .url({ protocol: /^https?$/, error: 'an http or https URL' })
  .max(2000)
  .refine((u) => !/^https?:\/\/[^/]*@/i.test(u), 'a URL without user name or password (the signature authenticates)')
  .describe('Where each run end is POSTed: http or https, no credentials in it');

export const CreateNotificationEndpointBody = z
  .object({
    url: NotificationUrl,
    description: z.string().max(200).optional(),
  })
  .strict();
export type CreateNotificationEndpointInput = z.infer<typeof CreateNotificationEndpointBody>;

export const NotificationEndpointDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    url: z.string(),
    description: z.string().optional(),
    /** The signing secret, encrypted in `secrets`. */
    secretRef: z.string(),
    status: z.enum(['active']),
    createdBy: z.string(),
    ...TimestampFields,
  })
  .strict();
export type NotificationEndpointDoc = z.infer<typeof NotificationEndpointDocSchema>;

export const DELIVERY_STATUSES = ['retrying', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One run end sent to one endpoint: `<endpointId>:<runId>:<finishedAt ms>`, updated at each attempt. */
export const NotificationDeliveryDocSchema = z
  .object({
    _id: z.string(),
    workspaceId: z.string(),
    endpointId: z.string(),
    runId: z.string(),
    runStatus: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    lastStatusCode: z.number().int().optional(),
    lastError: z.string().optional(),
    deliveredAt: z.date().optional(),
    ...TimestampFields,
  })
  .strict();
export type NotificationDeliveryDoc = z.infer<typeof NotificationDeliveryDocSchema>;

export function deliveryId(endpointId: string, runId: string, finishedAtMs: number): string {
  return `${endpointId}:${runId}:${finishedAtMs}`;
}

/** What a run end POSTs (JSON). */
export interface RunFinishedEvent {
  event: 'run.finished';
  runId: string;
  workflowId: string;
  workspaceId: string;
  projectId: string;
  status: RunStatus;
  errorMessage?: string;
  startedAt: string;
  finishedAt: string;
}

/**
 * What a receiver's answer means: a 2xx is delivered; a 4xx says the request itself is refused, so sending it again
 * changes nothing (give up), except 408 and 429, which ask to come back later; anything else (5xx, 3xx) is retried.
 */
export function deliveryVerdict(httpStatus: number): 'delivered' | 'retry' | 'give_up' {
  if (httpStatus >= 200 && httpStatus < 300) return 'delivered';
  if (httpStatus >= 400 && httpStatus < 500 && httpStatus !== 408 && httpStatus !== 429) return 'give_up';
  return 'retry';
}
