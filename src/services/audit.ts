import type { Db } from 'mongodb';
import { AuditLogRepository } from '../db/audit';
import type { AuditQuery } from '../db/audit';
import type { PageRequest } from '../db/pagination';
import type { AuditAction, AuditResourceType } from '../domain/audit';
import { newId } from '../ids';

export { auditListFilter, type AuditQuery } from '../db/audit';

export interface AuditEntry {
  actorId: string;
  /** Null only for mutations that belong to a user rather than a workspace (their own API keys). */
  workspaceId: string | null;
  projectId?: string;
  resourceType: AuditResourceType;
  resourceId: string;
  action: AuditAction;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  metadata?: Record<string, unknown>;
}

/** Keys whose values must never reach the audit log, whatever a caller passes in a summary. */
const SENSITIVE_KEY = /^(secret|secrets|password|token|apikey|api_key|key|hash|plaintext|ciphertext|authtag|iv)$/i;

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !SENSITIVE_KEY.test(k))
        .map(([k, v]) => [k, scrub(v)]),
    );
  }
  return value;
}

/**
 * The append-only audit trail: every mutating service calls record() once per mutation, after the write it
 * describes succeeded (without transactions, a crash in between loses the record, never invents one).
 */
export class AuditLog {
  private readonly logs: AuditLogRepository;

  constructor(db: Db) {
    this.logs = new AuditLogRepository(db);
  }

  async record(e: AuditEntry): Promise<void> {
    await this.logs.insert({
      _id: newId('aud'),
      workspaceId: e.workspaceId,
      ...(e.projectId ? { projectId: e.projectId } : {}),
      actorId: e.actorId,
      resourceType: e.resourceType,
      resourceId: e.resourceId,
      action: e.action,
      beforeSummary: e.before ? (scrub(e.before) as Record<string, unknown>) : null,
      afterSummary: e.after ? (scrub(e.after) as Record<string, unknown>) : null,
      metadata: scrub(e.metadata ?? {}) as Record<string, unknown>,
      createdAt: new Date(),
    });
  }

  list(workspaceId: string, q: AuditQuery, page: PageRequest) {
    return this.logs.list(workspaceId, q, page);
  }
}
