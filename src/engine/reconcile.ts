// The contract between the reconcile workflow (workflows/reconcile.ts) and its activity: one pass that brings the run
// mirror in line with Temporal. Ids and counts only.

/** What one pass did; its cursor is where the next pass (the schedule's next workflow) picks up. */
export interface ReconcilePass {
  /** The last unfinished run this pass looked at, when more may follow it; absent: the next pass starts over. */
  cursor?: string;
  /** Unfinished runs looked at. */
  checked: number;
  /** Runs whose closed execution the mirror now shows. */
  closed: number;
  /** Finished runs that Temporal executes again (a reset), reopened. */
  reopened: number;
  containersRemoved: number;
  /** Why the pass stopped short, when it did (the next pass tries again from the same cursor). */
  error?: string;
}

export interface ReconcileActivities {
  reconcileRunMirrors(input: { after?: string }): Promise<ReconcilePass>;
}
