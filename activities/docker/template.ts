// Step: render the node's templates ({{params.x}}, {{inputs.<node>.<path>}}, {{run.id}}, {{item}}) in its command
// and env values, from the run's params, its upstream results and the map item. Done once per attempt, before the
// cache key (the rendered values are part of it) and the container.
import { hasTemplate, referencedInputs, renderTemplate, TemplateError } from '../../src/dag/template';
import type { TemplateValues } from '../../src/dag/template';
import { nodeConfigError } from '../errors';
import { readUpstreamResult, UpstreamResultError } from '../upstream-result';
import type { DockerExecutorDeps, NodeAttempt } from './attempt';

/** The most of an upstream result.json a template reads. */
const TEMPLATE_RESULT_MAX_BYTES = 1024 * 1024;

/** What `{{item}}` is: a list element (or a batch's elements), else the item's asset id (or ids). */
function itemValue(attempt: Pick<NodeAttempt, 'item' | 'input'>): unknown {
  if (!attempt.item) return undefined;
  if (attempt.item.value !== undefined) return attempt.item.value;
  const ids = attempt.input.assetIds;
  return ids.length === 1 ? ids[0] : ids;
}

/**
 * The attempt's config with its templates rendered, and whether it had any. A reference with no value in this run
 * (a path its upstream result lacks) fails the node, naming the field; never retried.
 */
export async function renderConfig(
  deps: Pick<DockerExecutorDeps, 'store'>,
  attempt: Pick<NodeAttempt, 'cfg' | 'run' | 'input' | 'item'>,
): Promise<{ cfg: NodeAttempt['cfg']; rendered: boolean }> {
  const { cfg, run, input } = attempt;
  const command = cfg.command ?? [];
  const texts = [...command, ...Object.values(cfg.env)];
  if (!texts.some(hasTemplate)) return { cfg, rendered: false };

  const inputs: Record<string, unknown> = {};
  for (const nodeId of referencedInputs(texts)) {
    try {
      inputs[nodeId] = await readUpstreamResult(deps.store, input.upstream, nodeId, TEMPLATE_RESULT_MAX_BYTES);
    } catch (err) {
      if (err instanceof UpstreamResultError) throw nodeConfigError(`template {{inputs.${nodeId}…}}: ${err.message}`);
      throw err;
    }
  }
  const values: TemplateValues = {
    params: run.params,
    inputs,
    run: {
      id: run._id,
      workflowId: run.workflowDefinitionId,
      versionNumber: run.versionNumber,
      triggeredBy: run.triggeredBy,
    },
    item: itemValue(attempt),
  };
  const render = (text: string, field: string) => {
    try {
      return renderTemplate(text, values);
    } catch (err) {
      if (err instanceof TemplateError)
        throw nodeConfigError(`executorConfig.${field}, at character ${err.at}: ${err.message}`);
      throw err;
    }
  };
  return {
    cfg: {
      ...cfg,
      ...(cfg.command ? { command: cfg.command.map((text, i) => render(text, `command.${i}`)) } : {}),
      env: Object.fromEntries(Object.entries(cfg.env).map(([k, text]) => [k, render(text, `env.${k}`)])),
    },
    rendered: true,
  };
}
