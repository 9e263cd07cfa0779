// Prebuilds the workflow bundle so workers start without bundling: `npm run build:workflows [-- <out path>]`,
// then run workers with WORKFLOW_BUNDLE_PATH=<out path>.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows') });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, code);
  console.log(out);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
