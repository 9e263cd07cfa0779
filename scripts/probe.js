// Health probes for the stack script: each exits 0 only when the server answers a real request.
'use strict';
const { execFileSync } = require('node:child_process');

async function mongo(uri) {
  const { MongoClient } = require('mongodb');
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
  try {
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

async function s3(bucket) {
  const { S3Client, HeadBucketCommand, CreateBucketCommand } = require('@aws-sdk/client-s3');
  const client = new S3Client({
    endpoint: process.env.S3_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY_ID, secretAccessKey: process.env.S3_SECRET_ACCESS_KEY },
  });
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (err?.$metadata?.httpStatusCode !== 404) throw err;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  }
}

async function temporalSearchAttributes(bin, address) {
  const wanted = Object.keys(require('../src/temporal/search-attributes.json'));
  const out = execFileSync(bin, ['operator', 'search-attribute', 'list', '--address', address, '-o', 'json'], {
    encoding: 'utf8',
  });
  const missing = wanted.filter((name) => !out.includes(`"${name}"`));
  if (missing.length) throw new Error(`search attributes not registered yet: ${missing.join(', ')}`);
}

const probes = { mongo, s3, 'temporal-search-attributes': temporalSearchAttributes };
const [name, ...args] = process.argv.slice(2);
const run = probes[name];
if (!run) {
  console.error(`unknown probe ${name}`);
  process.exit(2);
}
run(...args).then(
  () => process.exit(0),
  (err) => {
    console.error(`${name}: ${err.message}`);
    process.exit(1);
  },
);
