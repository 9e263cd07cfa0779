/**
 * The main list queries are served by indexes.
 *
 * How this was checked against the stack's FerretDB (v1.24, SQLite backend): `db.command({explain: {find, filter,
 * sort}})` answers `{queryPlanner: {Plan: [SQLite "EXPLAIN QUERY PLAN" rows]}, filterPushdown, sortPushdown,
 * limitPushdown}`. Its SQLite backend narrows a query only by `_id`; the stack builds it with the project's patch
 * (scripts/ferretdb/sqlite-id-index.patch) so that an `_id` equality or `$in` is searched on the `_id` index whatever
 * else the filter holds. Every other filter is evaluated in FerretDB after a full `SCAN` of the collection's table,
 * whatever indexes exist. So on FerretDB the test asserts what explain reports — `_id` lookups searched on the
 * index, list filters scanned — and that the index which serves each list query on MongoDB exists with the right
 * leading keys (listIndexes). On MongoDB the same test asserts the winning plan is an IXSCAN of that index.
 */
import type { Db, Document } from 'mongodb';
import { connectDatabase } from '../../src/db/mongo';
import type { Database } from '../../src/db/mongo';
import { assetListFilter } from '../../src/services/assets';
import { auditListFilter } from '../../src/services/audit';
import { workflowListFilter } from '../../src/services/workflows';
import { testConfig } from '../support/stack';

let database: Database;
let db: Db;
let ferret: boolean;

beforeAll(async () => {
  database = await connectDatabase(testConfig());
  db = database.db;
  ferret = 'ferretdbVersion' in (await db.command({ buildInfo: 1 }));
  // A few documents, so each collection exists with data and explain has something to plan over.
  const now = new Date();
  const scope = { workspaceId: 'wsp_idx', projectId: 'prj_idx' };
  await db
    .collection('workflow_runs')
    .insertMany(
      Array.from({ length: 20 }, (_, i) => ({ _id: `run_${i}` as never, ...scope, status: 'success', createdAt: now })),
    );
  await db.collection('run_tasks').insertMany(
    Array.from({ length: 20 }, (_, i) => ({
      _id: `run_0.n${i}` as never,
      ...scope,
      workflowRunId: 'run_0',
      nodeId: `n${i}`,
      createdAt: now,
    })),
  );
  await db.collection('assets').insertMany(
    Array.from({ length: 20 }, (_, i) => ({
      _id: `ast_${i}` as never,
      ...scope,
      type: i % 2 ? 'rosbag' : 'raw_file',
      createdAt: now,
    })),
  );
  await db
    .collection('workflow_definitions')
    .insertMany(
      Array.from({ length: 20 }, (_, i) => ({ _id: `wfd_${i}` as never, ...scope, slug: `w${i}`, createdAt: now })),
    );
  await db.collection('audit_logs').insertMany(
    Array.from({ length: 20 }, (_, i) => ({
      _id: `aud_${i}` as never,
      ...scope,
      resourceType: 'asset',
      createdAt: now,
    })),
  );
});

afterAll(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await database?.close();
});

const scope = { workspaceId: 'wsp_idx', projectId: 'prj_idx' };
const NEWEST_FIRST = { createdAt: -1, _id: -1 };

interface ListQuery {
  what: string;
  collection: string;
  filter: Document;
  sort?: Document;
  /** The indexes that serve it (any one will do). */
  indexes: string[];
}

// The filters are the ones the services build (or, for runs and tasks, the ones the run routes and store issue).
const queries: ListQuery[] = [
  {
    what: 'runs by project',
    collection: 'workflow_runs',
    filter: { projectId: scope.projectId, workspaceId: scope.workspaceId },
    sort: NEWEST_FIRST,
    indexes: ['projectId_createdAt'],
  },
  {
    what: 'assets by project and type',
    collection: 'assets',
    filter: assetListFilter(scope, { type: 'rosbag' }),
    sort: NEWEST_FIRST,
    indexes: ['projectId_type_createdAt'],
  },
  {
    what: 'workflows by project',
    collection: 'workflow_definitions',
    filter: workflowListFilter(scope, {}),
    sort: NEWEST_FIRST,
    indexes: ['projectId', 'projectId_slug'],
  },
  {
    what: 'audit logs by workspace',
    collection: 'audit_logs',
    filter: auditListFilter(scope.workspaceId, {}),
    sort: NEWEST_FIRST,
    indexes: ['workspaceId_createdAt'],
  },
  {
    what: 'tasks by run',
    collection: 'run_tasks',
    filter: { workflowRunId: 'run_0' },
    indexes: ['workflowRunId_nodeId'],
  },
  {
    what: "a map node's items in key order",
    collection: 'run_tasks',
    filter: { workflowRunId: 'run_0', mapNodeId: 'each' },
    sort: { itemKey: 1 },
    indexes: ['workflowRunId_mapNodeId_itemKey'],
  },
];

function explain(q: ListQuery): Promise<Document> {
  return db.command({ explain: { find: q.collection, filter: q.filter, ...(q.sort ? { sort: q.sort } : {}) } });
}

/** Every stage of a MongoDB plan tree. */
function stages(plan: Document | undefined): Document[] {
  if (!plan) return [];
  return [plan, ...stages(plan.inputStage), ...((plan.inputStages as Document[] | undefined) ?? []).flatMap(stages)];
}

describe.each(queries)('$what', (q) => {
  it('has an index whose leading key is one of the query’s equality fields (and, with a sort, ends in it)', async () => {
    const all = await db.collection(q.collection).listIndexes().toArray();
    const serving = all.filter((ix) => q.indexes.includes(ix.name));
    expect(serving.map((ix) => ix.name)).not.toEqual([]);
    for (const ix of serving) {
      const keys = Object.keys(ix.key as Document);
      expect(Object.keys(q.filter)).toContain(keys[0]);
      const eqPrefix = keys.filter((k) => k in q.filter);
      if (q.sort && keys.includes('createdAt')) expect(keys.indexOf('createdAt')).toBe(eqPrefix.length);
    }
  });

  it('is planned on that index (MongoDB) / reported as FerretDB v1 plans it', async () => {
    const plan = await explain(q);
    if (ferret) {
      expect(plan.queryPlanner.Plan).toEqual(expect.arrayContaining([expect.stringMatching(/SCAN/)]));
      expect(plan.filterPushdown).toBe(false);
    } else {
      const scans = stages(plan.queryPlanner.winningPlan).filter((s) => s.stage === 'IXSCAN');
      const used = scans.map((s) => String(s.indexName));
      expect({ used, serves: used.some((name) => q.indexes.includes(name)) }).toEqual({ used, serves: true });
    }
  });
});

describe.each([
  ['an _id equality', { _id: 'ast_1' }],
  [
    "an _id equality beside other conditions (the mirror's guarded writes)",
    { _id: 'ast_1', status: { $in: ['active'] } },
  ],
  ['an _id $eq', { _id: { $eq: 'ast_1' } }],
  ['an _id $in', { _id: { $in: ['ast_1', 'ast_2'] } }],
])('%s', (_name, filter) => {
  it('is searched on the _id index, not scanned', async () => {
    const plan = await db.command({ explain: { find: 'assets', filter } });
    if (ferret) {
      expect(plan.filterPushdown).toBe(true);
      expect(plan.queryPlanner.Plan).toEqual([expect.stringMatching(/SEARCH \S+ USING INDEX \S+__id_ /)]);
    } else {
      expect(JSON.stringify(plan.queryPlanner.winningPlan)).toMatch(/IDHACK|EXPRESS_IXSCAN|_id_/);
    }
  });
});
