import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, stackEnvPath, withStackEnv } from '../../src/config';

const base = {
  MONGODB_URI: 'mongodb://127.0.0.1:27017/',
  S3_ACCESS_KEY_ID: 'k',
  S3_SECRET_ACCESS_KEY: 's',
  S3_BUCKET: 'emboflow-artifacts',
};

test('defaults fill what is unset, and the API listens on 8080', () => {
  const c = loadConfig(base);
  expect(c.PORT).toBe(8080);
  expect(c.WORKER_TASK_QUEUES).toEqual(['emboflow-runs', 'default']);
  expect(c.TASK_QUEUE_PREFIX).toBe('');
});

test('a bad variable is named in the error, with every other bad one', () => {
  expect(() => loadConfig({ ...base, PORT: 'eighty', S3_BUCKET: 'Bad_Bucket' })).toThrow(ConfigError);
  expect(() => loadConfig({ ...base, PORT: 'eighty', S3_BUCKET: 'Bad_Bucket' })).toThrow(
    /PORT: .*; S3_BUCKET: must be a valid S3 bucket name/,
  );
  expect(() => loadConfig({ ...base, MONGODB_URI: 'postgres://x' })).toThrow(/MONGODB_URI: must be a mongodb/);
});

test('a missing required variable is named, and empty strings count as unset', () => {
  expect(() => loadConfig({ ...base, MONGODB_URI: '' })).toThrow(/MONGODB_URI/);
  expect(() => loadConfig({ ...base, WORKER_TASK_QUEUES: 'a,,b' }).WORKER_TASK_QUEUES).not.toThrow();
  expect(loadConfig({ ...base, WORKER_TASK_QUEUES: 'gpu, default' }).WORKER_TASK_QUEUES).toEqual(['gpu', 'default']);
});

describe('stack.env', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'emboflow-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeStackEnv = (text: string) => writeFileSync(join(dir, 'stack.env'), text);

  test('the file fills what the environment leaves unset or empty, and the config parses', () => {
    writeStackEnv(
      ['MONGODB_URI=mongodb://127.0.0.1:27017/', 'S3_ACCESS_KEY_ID=k', 'S3_SECRET_ACCESS_KEY=s=with=equals'].join('\n'),
    );
    const c = loadConfig(withStackEnv({ EMBOFLOW_DATA_DIR: dir, S3_ACCESS_KEY_ID: '', S3_BUCKET: 'bucket' }));
    expect(c.MONGODB_URI).toBe('mongodb://127.0.0.1:27017/');
    expect(c.S3_ACCESS_KEY_ID).toBe('k');
    expect(c.S3_SECRET_ACCESS_KEY).toBe('s=with=equals');
  });

  test('a variable set in the environment wins over the file', () => {
    writeStackEnv('MONGODB_URI=mongodb://from-file:27017/\nS3_BUCKET=from-file\n');
    const env = withStackEnv({ ...base, EMBOFLOW_DATA_DIR: dir });
    expect(env.MONGODB_URI).toBe(base.MONGODB_URI);
    expect(env.S3_BUCKET).toBe(base.S3_BUCKET);
  });

  test('no file leaves the environment as it is, so a missing variable is still named', () => {
    const env = { EMBOFLOW_DATA_DIR: dir, S3_BUCKET: 'b' };
    expect(withStackEnv(env)).toBe(env);
    expect(() => loadConfig(withStackEnv(env))).toThrow(/MONGODB_URI/);
  });

  test('the file defaults to <repo>/.emboflow/stack.env and follows EMBOFLOW_DATA_DIR', () => {
    expect(stackEnvPath({})).toBe(join(__dirname, '..', '..', '.emboflow', 'stack.env'));
    expect(stackEnvPath({ EMBOFLOW_DATA_DIR: dir })).toBe(join(dir, 'stack.env'));
  });

  test('blank and # lines are skipped; a line that is not KEY=VALUE is named by number, its text withheld', () => {
    writeStackEnv('# written by npm run stack\n\nS3_BUCKET=b\n');
    expect(withStackEnv({ EMBOFLOW_DATA_DIR: dir }).S3_BUCKET).toBe('b');
    writeStackEnv('S3_BUCKET=b\nS3_SECRET_ACCESS_KEY hunter2\n');
    const read = () => withStackEnv({ EMBOFLOW_DATA_DIR: dir });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(`${join(dir, 'stack.env')} line 2: expected KEY=VALUE`);
  });
});
