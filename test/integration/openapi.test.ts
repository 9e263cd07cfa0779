// /openapi.json tells the truth: undeclared methods are a 405 naming the declared ones, every constraint the
// validators apply is in the document, and creating operations link to the operations that use what they create.
import { connect } from 'node:net';
import request from 'supertest';
import { seedTenant, startPlatformApp } from './helpers/platform';
import type { PlatformApp, Tenant } from './helpers/platform';

interface Parameter {
  name: string;
  in: string;
  schema: Record<string, unknown>;
}
interface Operation {
  operationId: string;
  parameters: Parameter[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { links?: Record<string, { operationId: string; parameters: Record<string, string> }> }>;
}
type Doc = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};

let t: PlatformApp;
let A: Tenant;
let doc: Doc;

beforeAll(async () => {
  t = await startPlatformApp();
  A = await seedTenant(t, 'openapi');
  doc = (await request(t.url).get('/openapi.json').expect(200)).body as Doc;
});

afterAll(async () => {
  await t?.close();
});

const op = (method: string, path: string): Operation => {
  const found = doc.paths[path]?.[method];
  if (!found) throw new Error(`no ${method} ${path} in the document`);
  return found;
};
const param = (method: string, path: string, where: string, name: string) => {
  const found = op(method, path).parameters.find((p) => p.in === where && p.name === name);
  if (!found) throw new Error(`no ${where} parameter ${name} on ${method} ${path}`);
  return found.schema;
};
const body = (method: string, path: string) => op(method, path).requestBody!.content['application/json']!.schema;
/** Every pattern a schema states, in allOf branches too. */
const patterns = (s: Record<string, unknown>): RegExp[] => [
  ...(typeof s.pattern === 'string' ? [new RegExp(s.pattern)] : []),
  ...((s.allOf as Array<Record<string, unknown>> | undefined) ?? []).flatMap(patterns),
];
const matchesAll = (s: Record<string, unknown>, value: string) => patterns(s).every((p) => p.test(value));

describe('undeclared methods', () => {
  it('answers a known path with a 405, an Allow header of the declared methods and the one error shape', async () => {
    const res = await A.as.owner.call('put', '/v1/workspaces').send({});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, POST');
    expect(res.body.error).toMatchObject({ code: 'method_not_allowed' });

    const one = await A.as.owner.call('delete', `/v1/workspaces/${A.workspaceId}`);
    expect(one.status).toBe(405);
    expect(one.headers.allow).toBe('GET, HEAD, PATCH');
  });

  it('answers 405 before reading a body, for methods no route has and without a key', async () => {
    const res = await request(t.url)
      .trace('/v1/asset-uploads/upl_1/parts/1')
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from('bytes'));
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('PUT');
  });

  it('keeps unknown paths a 404', async () => {
    const res = await A.as.owner.call('get', '/v1/no-such-thing');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect(res.headers.allow).toBeUndefined();
  });
});

it('answers a request the HTTP parser refuses in the one error shape, not an empty 400', async () => {
  const { port } = new URL(t.url);
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1', () =>
      socket.write('POST /v1/workspaces HTTP/1.1\r\nHost: x\r\nContent-Length: Zd,\r\n\r\n'),
    );
    let data = '';
    socket.on('data', (d) => (data += d.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
  expect(raw).toMatch(/^HTTP\/1\.1 400 /);
  expect(raw).toMatch(/content-type: application\/json/i);
  expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).error.code).toBe('bad_request');
});

describe('constraints in the document', () => {
  it('states the id pattern of path parameters and id filters', () => {
    for (const [method, path, where, name] of [
      ['get', '/v1/workspaces/{workspaceId}', 'path', 'workspaceId'],
      ['get', '/v1/projects/{projectId}/assets', 'path', 'projectId'],
      ['get', '/v1/workspaces/{workspaceId}/audit-logs', 'query', 'actorId'],
    ] as const) {
      const s = param(method, path, where, name);
      expect(matchesAll(s, A.workspaceId)).toBe(true);
      expect(matchesAll(s, '-not-an-id')).toBe(false);
    }
  });

  it('states the cursor format, and a cursor the API issued matches it', async () => {
    for (let i = 0; i < 2; i++) await A.as.owner.post('/v1/workspaces', { name: `ws ${i}` });
    const page = await A.as.owner.get('/v1/workspaces?limit=1');
    const cursor = page.body.nextCursor as string;
    const s = param('get', '/v1/workspaces', 'query', 'cursor');
    expect(matchesAll(s, cursor)).toBe(true);
    expect(matchesAll(s, 'garbage!')).toBe(false);
    // Anything the pattern allows is a page, not a 400.
    expect((await A.as.owner.get('/v1/workspaces?cursor=0.a')).status).toBe(200);
  });

  it('states the headers the run routes check: Idempotency-Key and Last-Event-ID', () => {
    const key = param('post', '/v1/workflows/{workflowId}/runs', 'header', 'idempotency-key');
    expect(key).toMatchObject({ minLength: 1, maxLength: 200 });
    expect(matchesAll(key, 'retry-1')).toBe(true);
    expect(matchesAll(key, 'has space')).toBe(false);
    const last = param('get', '/v1/runs/{runId}/events', 'header', 'last-event-id');
    expect(matchesAll(last, '12.34')).toBe(true);
    expect(matchesAll(last, 'x')).toBe(false);
  });

  it('states text refinements as patterns: no control characters, not blank', () => {
    const name = (body('post', '/v1/workspaces').properties as Record<string, Record<string, unknown>>).name!;
    expect(name).toMatchObject({ minLength: 1, maxLength: 200 });
    expect(matchesAll(name, 'Robots')).toBe(true);
    expect(matchesAll(name, 'bell\u0007')).toBe(false);
    expect(matchesAll(name, '   ')).toBe(false);
  });

  it('states the bulk run filters: statuses per action, the per-call maximum, date-times and the window rule', () => {
    for (const [action, statuses] of [
      ['cancel', ['pending', 'running']],
      ['retry', ['failed', 'cancelled', 'timed_out']],
    ] as const) {
      const schema = body('post', `/v1/projects/{projectId}/runs/bulk-${action}`);
      const props = schema.properties as Record<string, Record<string, unknown>>;
      expect((props.status!.items as Record<string, unknown>).enum).toEqual(statuses);
      expect(props.limit).toMatchObject({ minimum: 1, maximum: 1000 });
      expect(props.createdAfter).toMatchObject({ format: 'date-time' });
      expect(props.createdBefore).toMatchObject({ format: 'date-time' });
      expect(schema.additionalProperties).toBe(false);
      expect(schema.description).toContain('createdAfter, when both are given, must be before createdBefore');
    }
  });

  it('states image references, pull policies and registry hosts as the validators check them', () => {
    const cred = body('post', '/v1/workspaces/{workspaceId}/registry-credentials').properties as Record<
      string,
      Record<string, unknown>
    >;
    expect(matchesAll(cred.registry!, '127.0.0.1:5000')).toBe(true);
    expect(matchesAll(cred.registry!, 'ghcr.io')).toBe(true);
    expect(matchesAll(cred.registry!, 'http://ghcr.io/')).toBe(false);
    expect(cred.registry).toMatchObject({ maxLength: 255 });
    expect(cred.password).toMatchObject({ minLength: 1, maxLength: 16_384 });
    // The docker executor's config, wherever the document puts it.
    const docker: Array<Record<string, Record<string, Record<string, unknown>>>> = [];
    const visit = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      const props = (v as { properties?: Record<string, unknown> }).properties;
      if (props?.pullPolicy) docker.push(v as (typeof docker)[number]);
      Object.values(v).forEach(visit);
    };
    visit(doc);
    expect(docker.length).toBeGreaterThan(0);
    for (const config of docker) {
      expect(config.properties!.pullPolicy).toMatchObject({
        enum: ['ifNotPresent', 'always', 'never'],
        default: 'ifNotPresent',
      });
      const image = config.properties!.image!;
      expect(image).toMatchObject({ minLength: 1, maxLength: 512 });
      expect(matchesAll(image, '127.0.0.1:5000/emboflow/tools:test')).toBe(true);
      expect(matchesAll(image, 'Registry.Example/UPPER:tag!')).toBe(false);
    }
  });

  it('states object refinements and what free-form JSON may hold', () => {
    expect(body('patch', '/v1/workspaces/{workspaceId}').anyOf).toEqual([
      { required: ['name'] },
      { required: ['settings'] },
    ]);
    expect(body('post', '/v1/workspaces/{workspaceId}/members').oneOf).toEqual([
      { required: ['userId'] },
      { required: ['email'] },
    ]);
    const settings = (body('post', '/v1/workspaces').properties as Record<string, Record<string, unknown>>).settings!;
    expect(settings.$ref).toBe('#/components/schemas/JsonObject');
    const json = doc.components.schemas.JsonObject!;
    expect(json.additionalProperties).toEqual({ $ref: '#/components/schemas/JsonObjectValue' });
    // No array directly inside an array.
    expect(JSON.stringify(doc.components.schemas.JsonObjectValue)).not.toContain('"items":{"type":"array"');
    const keys = json.propertyNames as Record<string, unknown>;
    expect(matchesAll(keys, 'retention')).toBe(true);
    expect(matchesAll(keys, '$where')).toBe(false);
    expect(matchesAll(keys, 'a.b')).toBe(false);
    expect(keys.not).toEqual({ enum: ['__proto__', 'constructor', 'prototype'] });
  });

  it('states what a workflow node needs: a workflow id and a pinned version number of at least 1', () => {
    // The node schemas of the runtime graph, wherever the document puts them.
    const found: Array<Record<string, any>> = [];
    const walk = (v: unknown): void => {
      if (!v || typeof v !== 'object') return;
      const s = v as Record<string, any>;
      if (s.properties?.executorType?.const === 'workflow') found.push(s);
      Object.values(s).forEach(walk);
    };
    walk(doc);
    expect(found.length).toBeGreaterThan(0);
    for (const node of found) {
      expect(node.additionalProperties).toBe(false);
      expect(node.properties.retry).toBeUndefined();
      const config = node.properties.executorConfig;
      expect(config.required).toEqual(expect.arrayContaining(['workflowId', 'versionNumber']));
      expect(config.properties.versionNumber).toMatchObject({ type: 'integer', minimum: 1 });
    }
  });
});

describe('links', () => {
  it('links a creating operation to the operations that read, update and act on what it created', () => {
    const links = op('post', '/v1/workspaces').responses['201']!.links!;
    expect(links.getV1WorkspacesWorkspaceId).toEqual({
      operationId: 'getV1WorkspacesWorkspaceId',
      parameters: { workspaceId: '$response.body#/id' },
    });
    expect(links.patchV1WorkspacesWorkspaceId).toBeDefined();
    const versions = op('post', '/v1/workflows/{workflowId}/versions').responses['201']!.links!;
    expect(versions.getV1WorkflowsWorkflowIdVersionsVersionNumber!.parameters).toEqual({
      workflowId: '$request.path.workflowId',
      versionNumber: '$response.body#/versionNumber',
    });
  });

  it('names only operations that exist, and gives every path parameter they take', () => {
    const byId = new Map<string, string>();
    for (const [path, ops] of Object.entries(doc.paths))
      for (const o of Object.values(ops)) byId.set(o.operationId, path);
    expect(byId.size).toBe(Object.values(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0));
    let count = 0;
    for (const ops of Object.values(doc.paths))
      for (const o of Object.values(ops))
        for (const r of Object.values(o.responses))
          for (const link of Object.values(r.links ?? {})) {
            count++;
            const target = byId.get(link.operationId)!;
            expect(target).toBeDefined();
            const names = [...target.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
            expect(Object.keys(link.parameters).sort()).toEqual(names.sort());
          }
    expect(count).toBeGreaterThan(40);
  });

  it('resolves to a real id: following the link from a created workspace reads it', async () => {
    const created = await A.as.owner.post('/v1/workspaces', { name: 'linked' });
    const link = op('post', '/v1/workspaces').responses['201']!.links!.getV1WorkspacesWorkspaceId!;
    const id = created.body[link.parameters.workspaceId!.replace('$response.body#/', '')];
    const read = await A.as.owner.get(`/v1/workspaces/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.name).toBe('linked');
  });
});
