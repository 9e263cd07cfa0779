import { subWorkflowProblems } from '../../src/dag/sub-workflows';
import type { LoadVersion, ReferencedVersion } from '../../src/dag/sub-workflows';
import { RuntimeGraphSchema, SUB_WORKFLOW_DEPTH_MAX } from '../../src/domain/runtime-graph';

const sub = (id: string, workflowId: string, versionNumber = 1) => ({
  id,
  executorType: 'workflow',
  executorConfig: { workflowId, versionNumber },
});
const plain = (id: string) => ({ id, executorType: 'builtin', executorConfig: { op: 'noop' } });

/** A project's versions, keyed `<workflowId>@<versionNumber>`; a workflow with no listed version has none. */
function loader(versions: Record<string, ReferencedVersion['nodes']>): LoadVersion & { calls: string[] } {
  const calls: string[] = [];
  const load = async ({ workflowId, versionNumber }: { workflowId: string; versionNumber: number }) => {
    calls.push(`${workflowId}@${versionNumber}`);
    const nodes = versions[`${workflowId}@${versionNumber}`];
    if (nodes) return { workflowDefinitionId: workflowId, nodes };
    return Object.keys(versions).some((k) => k.startsWith(`${workflowId}@`)) ? 'no-version' : 'no-workflow';
  };
  return Object.assign(load, { calls }) as LoadVersion & { calls: string[] };
}

describe('the workflow node schema', () => {
  test('needs a pinned version number and refuses retry, cache and unknown fields, each at its path', () => {
    const parsed = RuntimeGraphSchema.safeParse({
      nodes: [
        { id: 'a', executorType: 'workflow', executorConfig: { workflowId: 'wfd_x' } },
        { ...sub('b', 'wfd_x'), retry: { maxAttempts: 2 } },
        { id: 'c', executorType: 'workflow', executorConfig: { workflowId: 'wfd_x', versionNumber: 0 } },
      ],
    });
    expect(parsed.success).toBe(false);
    const paths = parsed.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining(['nodes.0.executorConfig.versionNumber', 'nodes.2.executorConfig.versionNumber']),
    );
    expect(parsed.error!.issues.some((i) => i.path.join('.').startsWith('nodes.1'))).toBe(true);
    expect(RuntimeGraphSchema.safeParse({ nodes: [sub('a', 'wfd_x', 3)] }).success).toBe(true);
  });
});

describe('subWorkflowProblems', () => {
  test('a reference to an existing version has no problem', async () => {
    const load = loader({ 'child@1': [plain('x')] });
    expect(await subWorkflowProblems([plain('p'), sub('s', 'child')], load, 'parent')).toEqual([]);
  });

  test('a missing workflow and a missing version are named at their fields', async () => {
    const load = loader({ 'child@1': [plain('x')] });
    expect(await subWorkflowProblems([sub('s', 'ghost'), plain('p'), sub('t', 'child', 7)], load)).toEqual([
      { nodeId: 's', path: 'nodes.0.executorConfig.workflowId', message: 'workflow ghost not found in this project' },
      { nodeId: 't', path: 'nodes.2.executorConfig.versionNumber', message: 'workflow child has no version 7' },
    ]);
  });

  test('a workflow that runs itself again, however deep, is a cycle named at the node that starts it', async () => {
    const load = loader({ 'a@1': [sub('to-b', 'b')], 'b@1': [sub('to-self', 'self', 1)], 'self@1': [plain('x')] });
    const problems = await subWorkflowProblems([plain('first'), sub('run-a', 'a')], load, 'self');
    expect(problems).toEqual([
      {
        nodeId: 'run-a',
        path: 'nodes.1.executorConfig.workflowId',
        message: expect.stringContaining('self → a → b → self'),
      },
    ]);
    // Creating the version (no workflow being published) only checks that the references exist.
    expect(await subWorkflowProblems([sub('run-a', 'a')], load)).toEqual([]);
  });

  test('an earlier version of the same workflow is a cycle too', async () => {
    const load = loader({ 'self@1': [plain('x')] });
    const problems = await subWorkflowProblems([sub('again', 'self', 1)], load, 'self');
    expect(problems.map((p) => p.path)).toEqual(['nodes.0.executorConfig.workflowId']);
  });

  test(`nesting up to ${SUB_WORKFLOW_DEPTH_MAX} levels is allowed, one more is refused`, async () => {
    // w1 → w2 → … → w<n>: a node referencing w1 nests n levels.
    const chain = (n: number) =>
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`w${i + 1}@1`, i + 1 < n ? [sub('next', `w${i + 2}`)] : [plain('leaf')]]),
      );
    expect(await subWorkflowProblems([sub('deep', 'w1')], loader(chain(SUB_WORKFLOW_DEPTH_MAX)), 'top')).toEqual([]);
    const problems = await subWorkflowProblems([sub('deep', 'w1')], loader(chain(SUB_WORKFLOW_DEPTH_MAX + 1)), 'top');
    expect(problems).toEqual([
      {
        nodeId: 'deep',
        path: 'nodes.0.executorConfig.workflowId',
        message: `sub-workflows nest ${SUB_WORKFLOW_DEPTH_MAX + 1} levels deep here; at most ${SUB_WORKFLOW_DEPTH_MAX}`,
      },
    ]);
  });

  test('a version shared by many paths is read once, and a loop that misses the workflow ends', async () => {
    const load = loader({
      'a@1': [sub('l', 'shared'), sub('r', 'shared')],
      'shared@1': [plain('x')],
      'loop@1': [sub('back', 'loop2')],
      'loop2@1': [sub('back', 'loop')],
    });
    expect(await subWorkflowProblems([sub('one', 'a'), sub('two', 'shared')], load, 'top')).toEqual([]);
    expect(load.calls.filter((c) => c === 'shared@1').length).toBeLessThanOrEqual(2);
    // loop → loop2 → (loop again: stops) is three levels, within the limit; the walk ends instead of recursing.
    expect(await subWorkflowProblems([sub('x', 'loop')], load, 'top')).toEqual([]);
  });
});
