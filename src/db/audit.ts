// The audit trail (seed 000): append-only, listed per workspace.
import type { Collection, Db, Filter } from 'mongodb';
import type { AuditAction, AuditLogDoc, AuditResourceType } from '../domain/audit';
import { platformCollection } from './common';
import { paginate } from './pagination';
import type { Page, PageRequest } from './pagination';

export interface AuditQuery {
  resourceType?: AuditResourceType;
  action?: AuditAction;
  projectId?: string;
  actorId?: string;
}

/** The filter the audit list route runs, served by the {workspaceId, createdAt} index. */
export function auditListFilter(workspaceId: string, q: AuditQuery): Filter<AuditLogDoc> {
  const filter: Filter<AuditLogDoc> = { workspaceId };
  if (q.resourceType) filter.resourceType = q.resourceType;
  if (q.action) filter.action = q.action;
  if (q.projectId) filter.projectId = q.projectId;
  if (q.actorId) filter.actorId = q.actorId;
  return filter;
}

export class AuditLogRepository {
  private readonly logs: Collection<AuditLogDoc>;

  constructor(db: Db) {
    this.logs = platformCollection(db, 'audit_logs');
  }

  async insert(entry: AuditLogDoc): Promise<void> {
    await this.logs.insertOne(entry);
  }

  list(workspaceId: string, q: AuditQuery, page: PageRequest): Promise<Page<AuditLogDoc>> {
    return paginate(this.logs, auditListFilter(workspaceId, q), page);
  }
}
