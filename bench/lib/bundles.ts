// Workflow bundles built once per bench process and written to files, so every worker process it forks
// loads them instead of re-bundling (bundling takes seconds).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

export interface Bundles {
  emboflow: string;
  baseline: string;
}

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never;

export async function buildBundles(dir: string): Promise<Bundles> {
  await mkdir(dir, { recursive: true });
  const build = async (name: keyof Bundles, workflowsPath: string) => {
    const { code } = await bundleWorkflowCode({ workflowsPath, logger: quiet });
    const path = join(dir, `${name}-workflows.js`);
    await writeFile(path, code);
    return path;
  };
  return {
    emboflow: await build('emboflow', require.resolve('../../workflows')),
    baseline: await build('baseline', require.resolve('../baseline/workflows')),
  };
}
