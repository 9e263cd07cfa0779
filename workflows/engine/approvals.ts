// Approval nodes: the run waits for a human decision sent through the approve update, or for its deadline.
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import type { NodeInput, NodeResult } from '../../src/engine/contract';
import { approveUpdate } from '../messages';
import type { ApprovalDecision } from '../messages';
import type { MirrorQueue } from './mirror-queue';
import type { RunNode } from './run-graph';

type Decided = ApprovalDecision & { decidedAt: string };

export class Approvals {
  private readonly decisions = new Map<string, Decided>();
  private readonly waiting = new Set<string>();

  /** Registers the update handler; construct before the workflow's first await so no early update is lost. */
  constructor() {
    setHandler(
      approveUpdate,
      (d) => {
        this.decisions.set(d.nodeId, { ...d, decidedAt: new Date().toISOString() });
        return { nodeId: d.nodeId, approved: d.approved };
      },
      {
        validator: (d) => {
          if (!this.waiting.has(d.nodeId)) throw new Error(`task ${d.nodeId} is not waiting for an approval`);
        },
      },
    );
  }

  /**
   * Marks the node waiting, then resolves with the decision (or the default outcome at the deadline). A rejection
   * fails the node unless the node routes rejections to its edges.
   */
  async decide(node: RunNode, input: NodeInput, mirror: MirrorQueue): Promise<NodeResult> {
    const cfg = node.approval!;
    const deadline = cfg.timeoutSeconds ? new Date(Date.now() + cfg.timeoutSeconds * 1000).toISOString() : undefined;
    const task = { nodeId: node.id, generation: node.generation };
    this.decisions.delete(node.id);
    this.waiting.add(node.id);
    mirror.push({ ...task, status: 'running', summary: { executor: 'approval', waitingForApproval: true, deadline } });
    await mirror.flush();
    try {
      if (cfg.timeoutSeconds) await condition(() => this.decisions.has(node.id), cfg.timeoutSeconds * 1000);
      else await condition(() => this.decisions.has(node.id));
    } finally {
      this.waiting.delete(node.id);
    }
    const decided: Decided | undefined =
      this.decisions.get(node.id) ??
      (cfg.defaultOutcome
        ? {
            nodeId: node.id,
            approved: cfg.defaultOutcome === 'approved',
            comment: `no decision by ${deadline}: default outcome applied`,
            decidedBy: 'system:deadline',
            decidedAt: new Date().toISOString(),
          }
        : undefined);
    if (!decided) {
      const errorMessage = `no decision by the deadline (${deadline})`;
      mirror.push({
        ...task,
        status: 'failed',
        errorMessage,
        summary: { executor: 'approval', outcome: 'timed_out', deadline },
      });
      throw ApplicationFailure.nonRetryable(errorMessage, 'ApprovalTimedOut');
    }
    const result = {
      approved: decided.approved,
      comment: decided.comment ?? null,
      decidedBy: decided.decidedBy,
      decidedAt: decided.decidedAt,
    };
    const summary = { executor: 'approval', outcome: decided.approved ? 'approved' : 'rejected', ...result };
    if (!decided.approved && !cfg.routesRejection) {
      const errorMessage = `rejected by ${decided.decidedBy}${decided.comment ? `: ${decided.comment}` : ''}`;
      mirror.push({ ...task, status: 'failed', errorMessage, result, summary });
      throw ApplicationFailure.nonRetryable(errorMessage, 'ApprovalRejected');
    }
    mirror.push({ ...task, status: 'success', result, summary });
    return { artifacts: [], assetIds: input.assetIds, cacheHit: false, result };
  }
}
