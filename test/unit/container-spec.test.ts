// The container a node gets, as the Docker engine is asked for it: hardened by default, and what a node may add —
// GPUs as device requests, a bigger /dev/shm, a working directory, root where allowed, its secrets folder read-only.
import type Docker from 'dockerode';
import { ContainerRunner, gpuDeviceRequests, NODE_USER } from '../../src/docker/container-runner';
import type { ContainerSpec } from '../../src/docker/container-runner';

async function created(extra: Partial<ContainerSpec>): Promise<Docker.ContainerCreateOptions> {
  let options: Docker.ContainerCreateOptions | undefined;
  const docker = {
    createContainer: async (o: Docker.ContainerCreateOptions) => {
      options = o;
      return { id: 'c1' };
    },
  } as unknown as Docker;
  await new ContainerRunner(docker).create({
    name: 'n',
    image: 'img',
    env: {},
    cpu: 1,
    memoryMb: 64,
    pidsLimit: 64,
    network: false,
    labels: {},
    ...extra,
  });
  return options!;
}

test('by default: nobody, no network, no capabilities, read-only root, no GPUs, no binds', async () => {
  const o = await created({});
  expect(o.User).toBe(NODE_USER);
  expect(o.WorkingDir).toBe('/emboflow');
  expect(o.HostConfig).toMatchObject({
    NetworkMode: 'none',
    ReadonlyRootfs: true,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
  });
  expect(o.HostConfig!.DeviceRequests).toBeUndefined();
  expect(o.HostConfig!.ShmSize).toBeUndefined();
  expect(o.HostConfig!.Binds).toBeUndefined();
});

test('a GPU count and device ids become device requests for the gpu capability', async () => {
  expect((await created({ gpus: 2 })).HostConfig!.DeviceRequests).toEqual([
    { Driver: '', Count: 2, Capabilities: [['gpu']] },
  ]);
  expect((await created({ gpus: ['0', 'GPU-5a1c'] })).HostConfig!.DeviceRequests).toEqual([
    { Driver: '', Count: 0, DeviceIDs: ['0', 'GPU-5a1c'], Capabilities: [['gpu']] },
  ]);
  expect(gpuDeviceRequests(undefined)).toBeUndefined();
});

test('shm, working dir, root and the secrets folder; root keeps every other restriction', async () => {
  const o = await created({ shmMb: 512, workingDir: '/work', runAsRoot: true, secretsDir: '/dev/shm/x' });
  expect(o.HostConfig!.ShmSize).toBe(512 * 1024 * 1024);
  expect(o.WorkingDir).toBe('/work');
  expect(o.User).toBe('0:0');
  expect(o.HostConfig).toMatchObject({ CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], ReadonlyRootfs: true });
  expect(o.HostConfig!.Binds).toEqual(['/dev/shm/x:/emboflow/secrets:ro']);
});
