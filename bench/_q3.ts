import { MongoClient } from 'mongodb';
(async () => {
  const c = new MongoClient('mongodb://127.0.0.1:27017/', { retryWrites: false, serverSelectionTimeoutMS: 5000 });
  const t0 = Date.now();
  await c.connect();
  console.log(await c.db('admin').command({ ping: 1 }), Date.now() - t0);
  const db = c.db('x_ping'); await db.collection('a').insertOne({ a: 1 }); console.log('insert', Date.now() - t0);
  await db.dropDatabase(); console.log('drop', Date.now() - t0);
  console.log((await c.db('admin').admin().listDatabases()).databases.length);
  await c.close();
})().catch((e) => console.log('ERR', e));
