import { MongoClient } from 'mongodb';
import { RunStore } from '../src/db/runs';
(async () => {
  const c = new MongoClient('mongodb://127.0.0.1:27017/', { retryWrites: false });
  await c.connect();
  const db = c.db('x_bt_994311');
  const s = new RunStore(db); console.log('connected');
  const n = Number(process.argv[2] ?? 100);
  await db.collection('run_tasks').insertMany(Array.from({ length: n }, (_, i) => ({ _id: `r.n${i}` as never, workflowRunId: 'r', nodeId: `n${i}`, status: 'pending', generation: 0 })));
  console.log('inserted'); const t0 = Date.now();
  try {
    await s.applyTransitions('r', Array.from({ length: n }, (_, i) => ({ nodeId: `n${i}`, generation: 0, status: 'queued' as const })));
    console.log('ok', Date.now() - t0, 'ms');
  } catch (e) { console.log('ERR', e); }
  await db.dropDatabase(); await c.close();
})();
