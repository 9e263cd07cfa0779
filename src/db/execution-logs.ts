// Live execution records of docker nodes: log lines (read back by the run event stream) and resource samples.
import type { Collection, Db } from 'mongodb';
import type { ExecutionLogDoc, ExecutionMetricDoc } from '../domain/execution';

export class ExecutionLogRepository {
  private readonly logs: Collection<ExecutionLogDoc>;

  constructor(db: Db) {
    this.logs = db.collection<ExecutionLogDoc>('execution_logs');
  }

  /** Unordered: one refused line does not hold back the others. */
  async insertLines(lines: ExecutionLogDoc[]): Promise<void> {
    await this.logs.insertMany(lines, { ordered: false });
  }

  /**
   * A run's lines written at or after `since`, oldest first, at most `limit`: polled, since change streams are not
   * portable. Served by {runId, createdAt} on MongoDB; FerretDB v1 pushes down only `_id` lookups, so there it
   * scans the collection (bounded by the TTL).
   */
  readWindow(runId: string, since: Date, limit: number): Promise<ExecutionLogDoc[]> {
    return this.logs
      .find({ runId, createdAt: { $gte: since } })
      .sort({ createdAt: 1, seq: 1 })
      .limit(limit)
      .toArray();
  }
}

export class ExecutionMetricRepository {
  private readonly metrics: Collection<ExecutionMetricDoc>;

  constructor(db: Db) {
    this.metrics = db.collection<ExecutionMetricDoc>('execution_metrics');
  }

  async insertSample(sample: ExecutionMetricDoc): Promise<void> {
    await this.metrics.insertOne(sample);
  }
}
