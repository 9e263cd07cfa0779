import { MongoClient } from 'mongodb';
(async () => {
  const c = new MongoClient('mongodb://127.0.0.1:27017/', { retryWrites: false, serverSelectionTimeoutMS: 5000 });
  await c.connect();
  const h = await c.db('admin').command({ hello: 1 });
  console.log(h.maxWriteBatchSize, h.maxMessageSizeBytes, h.maxBsonObjectSize, h.maxWireVersion);
  await c.close();
})().catch((e) => console.log('ERR', e));
