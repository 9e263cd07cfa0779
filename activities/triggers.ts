// The launcher's activity (workflows/triggered-run.ts): a trigger's run, inserted from the trigger's template and,
// for an event, its subject bound. Idempotent by launcher: a retried attempt answers the run the first inserted.
import { ApplicationFailure } from '@temporalio/activity';
import type { TriggerEventRepository, TriggerRepository } from '../src/db/triggers';
import type { InputBinding } from '../src/domain/run';
import type { TriggerEventDoc } from '../src/domain/triggers';
import type { TriggerContract, TriggeredRun } from '../src/engine/contract';
import { EmboflowError } from '../src/errors';
import type { RunService } from '../src/services/runs';

export interface TriggerActivityDeps {
  runs: RunService;
  triggers: TriggerRepository;
  events: TriggerEventRepository;
}

function eventBindings(event: TriggerEventDoc): InputBinding[] {
  if (event.assetId) return [{ kind: 'asset', id: event.assetId }];
  if (event.datasetId) return [{ kind: 'dataset', id: event.datasetId, versionId: event.datasetVersionId }];
  return [];
}

export function createTriggerActivities({ runs, triggers, events }: TriggerActivityDeps): TriggerContract {
  return {
    async createTriggeredRun({ triggerId, eventId, launcherId, scheduledAt }): Promise<TriggeredRun> {
      const trigger = await triggers.get(triggerId);
      if (!trigger) throw ApplicationFailure.nonRetryable(`trigger ${triggerId} no longer exists`, 'TriggerError');
      const def = await runs.getDefinition(trigger.workflowDefinitionId);
      if (!def) throw ApplicationFailure.nonRetryable(`the workflow of trigger ${triggerId} is gone`, 'TriggerError');
      const event = eventId ? await events.get(eventId) : null;
      if (eventId && !event) throw ApplicationFailure.nonRetryable(`event ${eventId} is gone`, 'TriggerError');
      try {
        const run = await runs.start(
          def,
          {
            versionNumber: trigger.versionNumber,
            inputBindings: [...(event ? eventBindings(event) : []), ...trigger.inputBindings],
            params: trigger.params,
          },
          `${trigger.kind}:${trigger._id}`,
          `trigger:${launcherId}`,
          {
            triggerId: trigger._id,
            launchedBy: launcherId,
            ...(scheduledAt !== undefined ? { scheduledAt: new Date(scheduledAt) } : {}),
          },
        );
        return {
          runId: run.id,
          workflowId: def._id,
          projectId: def.projectId,
          workspaceId: def.workspaceId,
          summary: `EmboFlow run ${run.id} of ${def.name} v${run.versionNumber} (${trigger.kind} ${trigger._id})`,
          ...(run.priority ? { priority: run.priority } : {}),
        };
      } catch (err) {
        // What the trigger asks for cannot start (no published version any more, a binding gone): final.
        if (err instanceof EmboflowError && err.status < 500 && err.status !== 409) {
          throw ApplicationFailure.nonRetryable(err.message, 'TriggerError');
        }
        throw err;
      }
    },
  };
}
