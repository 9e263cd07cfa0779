import { ConfigError, loadConfig } from '../../src/config';

const base = { MONGODB_URI: 'mongodb://127.0.0.1:27017/', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_BUCKET: 'emboflow-artifacts' };

test('defaults fill what is unset, and the API listens on 8080', () => {
  const c = loadConfig(base);
  expect(c.PORT).toBe(8080);
  expect(c.WORKER_TASK_QUEUES).toEqual(['emboflow-runs', 'default']);
  expect(c.TASK_QUEUE_PREFIX).toBe('');
});

test('a bad variable is named in the error, with every other bad one', () => {
  expect(() => loadConfig({ ...base, PORT: 'eighty', S3_BUCKET: 'Bad_Bucket' })).toThrow(ConfigError);
  expect(() => loadConfig({ ...base, PORT: 'eighty', S3_BUCKET: 'Bad_Bucket' })).toThrow(/PORT: .*; S3_BUCKET: must be a valid S3 bucket name/);
  expect(() => loadConfig({ ...base, MONGODB_URI: 'postgres://x' })).toThrow(/MONGODB_URI: must be a mongodb/);
});

test('a missing required variable is named, and empty strings count as unset', () => {
  expect(() => loadConfig({ ...base, MONGODB_URI: '' })).toThrow(/MONGODB_URI/);
  expect(() => loadConfig({ ...base, WORKER_TASK_QUEUES: 'a,,b' }).WORKER_TASK_QUEUES).not.toThrow();
  expect(loadConfig({ ...base, WORKER_TASK_QUEUES: 'gpu, default' }).WORKER_TASK_QUEUES).toEqual(['gpu', 'default']);
});
