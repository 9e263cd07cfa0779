import { MongoClient } from 'mongodb';
(async () => {
  const c = new MongoClient('mongodb://127.0.0.1:27017/', { retryWrites: false });
  await c.connect();
  const db = c.db(`x_plain_${process.argv[3]}_${Date.now()}`);
  const n = Number(process.argv[2]);
  await db.collection('t').insertMany(Array.from({ length: n }, (_, i) => ({ _id: `n${i}` as never, s: 'a' })));
  const t0 = Date.now();
  const mode = process.argv[3];
  if (mode === 'plain') await db.collection('t').bulkWrite(Array.from({ length: n }, (_, i) => ({ updateOne: { filter: { _id: `n${i}` as never }, update: { $set: { s: 'b' } } } })), { ordered: false });
  if (mode === 'ordered') await db.collection('t').bulkWrite(Array.from({ length: n }, (_, i) => ({ updateOne: { filter: { _id: `n${i}` as never }, update: { $set: { s: 'b' } } } })), { ordered: true });
  if (mode === 'del') await db.collection('t').bulkWrite(Array.from({ length: n }, (_, i) => ({ deleteOne: { filter: { _id: `n${i}` as never } } })), { ordered: false });
  console.log(mode, n, 'ok', Date.now() - t0, 'ms');
  await db.dropDatabase(); await c.close();
})();
