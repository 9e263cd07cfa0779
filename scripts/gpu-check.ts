// The real GPU check, for machines that have a GPU and the NVIDIA container toolkit (this project's CI machines have
// neither): a node container made exactly as the executor makes it (src/docker/container-runner.ts), asking for
// GPUS (default 1), lists the GPUs it sees with nvidia-smi. Exit 0 when it saw as many as it asked for.
//   npx tsx scripts/gpu-check.ts [image]        (GPUS=2 for two; DOCKER_HOST as for the worker)
import { randomBytes } from 'node:crypto';
import { ContainerRunner, dockerFromHost } from '../src/docker/container-runner';

async function main(): Promise<number> {
  const image = process.argv[2] ?? 'emboflow/tools:local';
  const gpus = Number(process.env.GPUS ?? 1);
  const runner = new ContainerRunner(dockerFromHost(process.env.DOCKER_HOST));
  const container = await runner.create({
    name: `emboflow-gpu-check-${randomBytes(4).toString('hex')}`,
    image,
    // The toolkit mounts nvidia-smi into the container for the utility capability.
    command: ['nvidia-smi', '-L'],
    env: { NVIDIA_DRIVER_CAPABILITIES: 'utility' },
    cpu: 1,
    memoryMb: 256,
    pidsLimit: 64,
    network: false,
    labels: {},
    gpus,
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
    const seen = logs
      .split('\n')
      .filter((l) => /^GPU \d+:/.test(l.replace(/^[\s\S]{8}/, '').trim()) || /GPU \d+:/.test(l));
    process.stdout.write(logs);
    console.log(`asked for ${gpus} GPU(s), the container saw ${seen.length}; exit ${StatusCode}`);
    return StatusCode === 0 && seen.length === gpus ? 0 : 1;
  } finally {
    await container.remove({ force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`gpu check failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
