/**
 * docker-compose.yml cannot be started here (no image registry), so it is checked with Docker Compose's own
 * `config`, which loads, interpolates and validates it exactly as `docker compose up` would, and then its resolved
 * form is held to what EmboFlow needs. scripts/compose.sh installs the pinned Compose once (cached).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import searchAttributes from '../../src/temporal/search-attributes.json';

const repoDir = path.resolve(__dirname, '../..');
const composeFile = path.join(repoDir, 'docker-compose.yml');

/** Stand-ins for the variables the file requires; `config` starts nothing, so they reach no server. */
const requiredEnv: Record<string, string> = {
  S3_ACCESS_KEY_ID: 'emboflow-test',
  S3_SECRET_ACCESS_KEY: 'test-only-s3-secret',
  MINIO_ROOT_PASSWORD: 'test-only-minio-root',
  TEMPORAL_DB_PASSWORD: 'test-only-temporal-db',
  DOCKER_GID: '999',
};

/** What src/config.ts reads, as the issue lists it; PORT is the API's alone, the rest the worker's too. */
const appEnv = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_UI_URL',
  'MONGODB_URI',
  'MONGODB_DB',
  'S3_ENDPOINT',
  'S3_REGION',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
  'S3_BUCKET',
  'LOG_LEVEL',
];

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  container_name?: string;
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: unknown[];
  group_add?: string[];
  volumes?: { type: string; source: string; target: string }[];
}

interface ComposeProject {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let composeBin = '';
let workDir = '';

function run(file: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    // A bare environment: nothing from the caller's shell (COMPOSE_*, S3_*, ...) may fill a variable in.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? workDir };
    execFile(file, args, { cwd, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function writeEnvFile(name: string, env: Record<string, string>): string {
  const file = path.join(workDir, name);
  writeFileSync(
    file,
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  return file;
}

/** Runs `config` on a compose file with an explicit env file, so no stray ./.env is read. */
function composeConfig(file: string, envFile: string, args: string[]): Promise<Run> {
  return run(composeBin, ['-f', file, '--env-file', envFile, 'config', ...args], path.dirname(file));
}

async function resolvedConfig(extra: string[] = []): Promise<ComposeProject> {
  const result = await composeConfig(composeFile, writeEnvFile('valid.env', requiredEnv), [
    '--format',
    'json',
    ...extra,
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ComposeProject;
}

function service(project: ComposeProject, name: string): ComposeService {
  const found = project.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(tmpdir(), 'emboflow-compose-'));
  const install = await run('bash', [path.join(repoDir, 'scripts/compose.sh'), '--path'], repoDir);
  if (install.code !== 0) throw new Error(`scripts/compose.sh --path failed:\n${install.stderr}`);
  composeBin = install.stdout.trim();
}, 300_000);

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('docker compose config', () => {
  it('accepts docker-compose.yml when the required variables are set', async () => {
    const result = await composeConfig(composeFile, writeEnvFile('valid.env', requiredEnv), ['-q']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it.each(Object.keys(requiredEnv))('refuses to resolve the file while %s is unset, naming it', async (name) => {
    const { [name]: _omitted, ...rest } = requiredEnv;
    const result = await composeConfig(composeFile, writeEnvFile(`without-${name}.env`, rest), ['-q']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(name);
  });

  // Each case breaks a copy of the real file in one way; the check must catch every one, for the right reason.
  const breakages: [string, (yaml: string) => string, RegExp][] = [
    ['a YAML syntax error', (yaml) => `${yaml}\nservices: [unclosed\n`, /yaml/],
    ['an unknown service key', (yaml) => yaml.replace('    image: mongo:7.0\n', '    imagee: mongo:7.0\n'), /imagee/],
    [
      'a dependency on a service that does not exist',
      (yaml) => yaml.replace('      temporal-db:\n', '      temporal-pg:\n'),
      /undefined service "temporal-pg"/,
    ],
    [
      'a mount of an undeclared named volume',
      (yaml) => yaml.replace('- minio-data:/data', '- minio-state:/data'),
      /undefined volume minio-state/,
    ],
    [
      'an unknown depends_on condition',
      (yaml) => yaml.replace('condition: service_healthy', 'condition: service_ready'),
      /condition/,
    ],
  ];

  it.each(breakages)('rejects a copy with %s', async (_what, breakIt, reason) => {
    const original = readFileSync(composeFile, 'utf8');
    const broken = breakIt(original);
    expect(broken).not.toBe(original);
    const dir = mkdtempSync(path.join(workDir, 'broken-'));
    const file = path.join(dir, 'docker-compose.yml');
    writeFileSync(file, broken);
    const result = await composeConfig(file, writeEnvFile('valid.env', requiredEnv), ['-q']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(reason);
  });
});

describe('the resolved deployment', () => {
  let project: ComposeProject;

  beforeAll(async () => {
    project = await resolvedConfig();
  });

  it('has the whole stack: MongoDB, Temporal with its database and Web UI, MinIO, the API and the worker', () => {
    expect(Object.keys(project.services).sort()).toEqual(
      [
        'api',
        'createbuckets',
        'minio',
        'mongo',
        'mongo-init',
        'temporal',
        'temporal-db',
        'temporal-setup',
        'temporal-ui',
        'worker',
      ].sort(),
    );
  });

  it('pins every pulled image to a version', () => {
    for (const [name, svc] of Object.entries(project.services)) {
      if (svc.build) continue;
      expect({ name, image: svc.image }).toEqual({ name, image: expect.stringMatching(/^[^:@]+[:@][^:]+$/) });
      expect({ name, image: svc.image }).toEqual({ name, image: expect.not.stringMatching(/:latest$/) });
    }
  });

  it('runs MongoDB as replica set rs0, initiated by a one-shot service the application waits for', () => {
    expect(service(project, 'mongo').command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    expect(service(project, 'mongo-init').command?.join(' ')).toContain('rs.initiate');
    for (const app of ['api', 'worker']) {
      expect(service(project, app).environment?.MONGODB_URI).toMatch(/^mongodb:\/\/mongo:27017\/.*replicaSet=rs0/);
      expect(service(project, app).depends_on?.['mongo-init']?.condition).toBe('service_completed_successfully');
    }
  });

  it('gives Temporal its own PostgreSQL and registers the search attributes of src/temporal/search-attributes.json', () => {
    const temporal = service(project, 'temporal');
    expect(temporal.image).toMatch(/^temporalio\/auto-setup:/);
    expect(temporal.environment?.DB).toBe('postgres12');
    expect(temporal.environment?.POSTGRES_SEEDS).toBe('temporal-db');
    expect(service(project, 'temporal-db').image).toMatch(/^postgres:16/);
    expect(service(project, 'temporal-ui').image).toMatch(/^temporalio\/ui:/);

    const declared = service(project, 'temporal-setup').environment?.EMBOFLOW_SEARCH_ATTRIBUTES ?? '';
    const registered = Object.fromEntries(
      declared
        .split(/\s+/)
        .filter(Boolean)
        .map((pair) => pair.split('=')),
    );
    expect(registered).toEqual(searchAttributes);
    expect(service(project, 'temporal-setup').command?.join(' ')).toContain(
      'temporal operator search-attribute create',
    );
  });

  it('creates the bucket the application is configured with', () => {
    const bucket = service(project, 'api').environment?.S3_BUCKET;
    expect(bucket).toBe('emboflow-artifacts');
    expect(service(project, 'createbuckets').environment?.S3_BUCKET).toBe(bucket);
    expect(service(project, 'createbuckets').command?.join(' ')).toContain('mc mb --ignore-existing');
  });

  it('builds the API and the worker from the Dockerfile and runs their compiled entry points', () => {
    for (const app of ['api', 'worker']) {
      expect(service(project, app).build).toEqual({ context: repoDir, dockerfile: 'Dockerfile' });
    }
    expect(service(project, 'api').command).toEqual(['node', 'dist/src/cli/api.js']);
    expect(service(project, 'worker').command).toEqual(['node', 'dist/src/cli/worker.js']);
  });

  it('hands the API and the worker every variable the application reads', () => {
    const api = service(project, 'api').environment ?? {};
    const worker = service(project, 'worker').environment ?? {};
    for (const name of appEnv) {
      expect({ name, api: typeof api[name] }).toEqual({ name, api: 'string' });
      expect({ name, worker: typeof worker[name] }).toEqual({ name, worker: 'string' });
    }
    expect(api.PORT).toBe('8080');
    expect(worker.TEMPORAL_ADDRESS).toMatch(/^[a-z0-9.-]+:\d+$/);
    expect(worker.WORKER_TASK_QUEUES).toMatch(/^[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*$/);
    expect(worker.WORKER_TASK_QUEUES?.split(',')).toContain(worker.RUN_TASK_QUEUE);
  });

  it('lets the worker scale with --scale and drive the host Docker engine', () => {
    const worker = service(project, 'worker');
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports ?? []).toEqual([]);
    expect(worker.environment?.DOCKER_HOST).toBe('unix:///var/run/docker.sock');
    expect(worker.volumes).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'bind', target: '/var/run/docker.sock' })]),
    );
    expect(worker.group_add).toEqual([requiredEnv.DOCKER_GID]);
  });

  it('gates every service_healthy dependency on a service that has a healthcheck', () => {
    for (const [name, svc] of Object.entries(project.services)) {
      for (const [dependency, { condition }] of Object.entries(svc.depends_on ?? {})) {
        if (condition !== 'service_healthy') continue;
        expect({ name, dependency, healthcheck: Boolean(service(project, dependency).healthcheck) }).toEqual({
          name,
          dependency,
          healthcheck: true,
        });
      }
    }
  });

  it('keeps every piece of data in a declared named volume', () => {
    const declared = Object.keys(project.volumes ?? {});
    const stateful: Record<string, string> = {
      mongo: '/data/db',
      'temporal-db': '/var/lib/postgresql/data',
      minio: '/data',
    };
    for (const [name, target] of Object.entries(stateful)) {
      const mount = service(project, name).volumes?.find((v) => v.target === target);
      expect({ name, type: mount?.type }).toEqual({ name, type: 'volume' });
      expect(declared).toContain(mount?.source);
    }
  });

  it('takes every secret from a variable, never from a value written in the file', async () => {
    const raw = await resolvedConfig(['--no-interpolate']);
    const secretName = /PASSWORD|PWD|SECRET|ACCESS_KEY|API_KEY/;
    // Either required (${VAR:?message}) or optional with nothing filled in (${VAR:-}).
    const fromVariable = /^\$\{[A-Z0-9_]+(:\?[^}]+|:-)\}$/;
    let secrets = 0;
    for (const [name, svc] of Object.entries(raw.services)) {
      for (const [key, value] of Object.entries(svc.environment ?? {})) {
        if (!secretName.test(key)) continue;
        secrets += 1;
        expect({ name, key, value }).toEqual({ name, key, value: expect.stringMatching(fromVariable) });
      }
    }
    expect(secrets).toBeGreaterThanOrEqual(8);
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(repoDir, 'Dockerfile'), 'utf8');
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

  it('builds on Node 24 LTS (Debian bookworm) with npm ci and npm run build', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/^RUN npm run build$/m);
  });

  it('runs the API by default, as a non-root user, with production dependencies only', () => {
    expect(finalStage).toMatch(/^CMD \["node", ?"dist\/src\/cli\/api\.js"\]$/m);
    expect(finalStage).toMatch(/^USER (?!root\b|0\b)\S+$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(finalStage).toContain('src/temporal/search-attributes.json');
  });
});
