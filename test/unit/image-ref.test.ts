// Image references as versions are checked against and pulls parse them, and how a pull picks its registry login.
import { selectCredential } from '../../activities/docker/pull';
import type { RegistryCredentialDoc } from '../../src/domain/catalog';
import { ImageRefSchema, normalizeRegistry, parseImageReference } from '../../src/domain/image-ref';
import { RuntimeGraphSchema } from '../../src/domain/runtime-graph';

test.each([
  ['emboflow/tools:local', { registry: 'docker.io', repository: 'emboflow/tools', tag: 'local' }],
  ['busybox', { registry: 'docker.io', repository: 'library/busybox' }],
  ['127.0.0.1:5000/emboflow/tools:test', { registry: '127.0.0.1:5000', repository: 'emboflow/tools', tag: 'test' }],
  ['localhost/x', { registry: 'localhost', repository: 'x' }],
  ['GHCR.io/org/img:1.2-rc_3', { registry: 'ghcr.io', repository: 'org/img', tag: '1.2-rc_3' }],
  ['index.docker.io/library/alpine', { registry: 'docker.io', repository: 'library/alpine' }],
  [
    `registry.example.com:443/a/b__c/d-e@sha256:${'a'.repeat(64)}`,
    { registry: 'registry.example.com:443', repository: 'a/b__c/d-e', digest: `sha256:${'a'.repeat(64)}` },
  ],
])('%s parses into its registry, repository, tag and digest', (ref, parts) => {
  expect(parseImageReference(ref)).toEqual(parts);
  expect(ImageRefSchema.safeParse(ref).success).toBe(true);
});

test.each([
  'Emboflow/Tools', // upper-case path
  'emboflow/tools:', // empty tag
  'emboflow//tools',
  'emboflow/tools:a b',
  ':tag',
  'emboflow/tools@sha256:short',
  '-bad.example.com/x',
  'emboflow/tools:local; rm -rf /',
  'x'.repeat(513),
])('%s is not an image reference', (ref) => {
  expect(parseImageReference(ref)).toBeUndefined();
  expect(ImageRefSchema.safeParse(ref).success).toBe(false);
});

test('a malformed image in a runtime graph is rejected at its own path', () => {
  const result = RuntimeGraphSchema.safeParse({
    nodes: [{ id: 'a', executorType: 'docker', executorConfig: { image: 'Not/A:Ref!' } }],
  });
  expect(result.success).toBe(false);
  expect(result.error!.issues.map((i) => i.path.join('.'))).toContain('nodes.0.executorConfig.image');
});

test('pullPolicy defaults to ifNotPresent and takes only the three policies', () => {
  const parse = (executorConfig: object) =>
    RuntimeGraphSchema.safeParse({ nodes: [{ id: 'a', executorType: 'docker', executorConfig }] });
  const ok = parse({ image: 'emboflow/tools:local' });
  expect(ok.success && ok.data.nodes[0]!.executorType === 'docker' && ok.data.nodes[0]!.executorConfig.pullPolicy).toBe(
    'ifNotPresent',
  );
  expect(parse({ image: 'emboflow/tools:local', pullPolicy: 'always' }).success).toBe(true);
  expect(parse({ image: 'emboflow/tools:local', pullPolicy: 'sometimes' }).error!.issues[0]!.path.join('.')).toBe(
    'nodes.0.executorConfig.pullPolicy',
  );
});

test('registry hosts are matched lower case, with Docker Hub under one name', () => {
  expect(normalizeRegistry('GHCR.IO')).toBe('ghcr.io');
  expect(normalizeRegistry('https://index.docker.io/v1/')).toBe('docker.io');
  expect(normalizeRegistry('registry-1.docker.io')).toBe('docker.io');
  expect(normalizeRegistry('127.0.0.1:5000')).toBe('127.0.0.1:5000');
});

describe('choosing the registry login for a pull', () => {
  const cred = (id: string, workspaceId: string, registry: string) =>
    ({ _id: id, workspaceId, registry, username: 'u', secretRef: `secret_${id}` }) as RegistryCredentialDoc;
  const all = [
    cred('rgc_local', 'ws_1', '127.0.0.1:5000'),
    cred('rgc_hub', 'ws_1', 'docker.io'),
    cred('rgc_other', 'ws_2', '127.0.0.1:5000'),
  ];
  const repo = {
    findInWorkspace: async (id: string, ws: string) => all.find((c) => c._id === id && c.workspaceId === ws) ?? null,
    findForRegistry: async (ws: string, registry: string) =>
      all.find((c) => c.workspaceId === ws && c.registry === registry) ?? null,
  };
  const ref = (image: string) => parseImageReference(image)!;

  test("by default, the workspace's credential for the image's registry", async () => {
    expect((await selectCredential(repo, 'ws_1', ref('127.0.0.1:5000/a:1')))?._id).toBe('rgc_local');
    expect((await selectCredential(repo, 'ws_1', ref('busybox')))?._id).toBe('rgc_hub');
    expect((await selectCredential(repo, 'ws_2', ref('busybox')))?._id).toBeUndefined();
    expect(await selectCredential(repo, 'ws_1', ref('ghcr.io/a/b'))).toBeUndefined();
  });

  test('a named credential is used when it is for the image registry', async () => {
    expect((await selectCredential(repo, 'ws_1', ref('127.0.0.1:5000/a:1'), 'rgc_local'))?._id).toBe('rgc_local');
  });

  test('a named credential of another workspace, or for another registry, fails the task instead of leaking', async () => {
    await expect(selectCredential(repo, 'ws_1', ref('127.0.0.1:5000/a:1'), 'rgc_other')).rejects.toMatchObject({
      type: 'NodeConfigError',
      message: 'registry credential rgc_other not found in this workspace',
    });
    await expect(selectCredential(repo, 'ws_1', ref('127.0.0.1:5000/a:1'), 'rgc_hub')).rejects.toMatchObject({
      type: 'NodeConfigError',
      message: 'registry credential rgc_hub is for docker.io, but the image is pulled from 127.0.0.1:5000',
    });
  });
});
