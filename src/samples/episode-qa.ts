// The sample workflow: quality-checks a robot teleoperation episode (joint states as CSV) and normalizes it.
// probe → validate → convert → report, every node a hardened container of the local tools image.
import type { RuntimeGraphInput } from '../domain/runtime-graph';

const FIND_EPISODE =
  'f=$(ls /emboflow/assets/*/* | head -1); [ -n "$f" ] || { echo "no episode asset staged" >&2; exit 2; }';

export function episodeQaGraph(image: string): RuntimeGraphInput {
  const node = (
    id: string,
    script: string,
    contract: { inputs?: string[]; outputs: string[] },
    artifactType: string,
    title: string,
  ) => ({
    id,
    executorType: 'docker' as const,
    executorConfig: { image, command: ['sh', '-ec', script], memoryMb: 64, cpu: 0.5, timeoutSeconds: 120 },
    retry: { maxAttempts: 2, initialIntervalMs: 500, backoffCoefficient: 2 },
    contract: { inputs: contract.inputs ?? [], outputs: contract.outputs },
    artifactType,
    artifactTitle: title,
  });
  return {
    nodes: [
      node(
        'probe',
        `${FIND_EPISODE}
rows=$(($(wc -l < "$f") - 1)); cols=$(head -1 "$f" | awk -F, '{print NF}')
printf '{"file":"%s","rows":%d,"columns":%d,"header":"%s","format":"csv/joint_states"}\\n' "$(basename "$f")" "$rows" "$cols" "$(head -1 "$f")" > /emboflow/outputs/probe.json
cp /emboflow/outputs/probe.json /emboflow/outputs/result.json; echo "probed $rows rows x $cols columns"`,
        { outputs: ['quality_report'] },
        'quality_report',
        'Episode probe',
      ),
      node(
        'validate',
        `${FIND_EPISODE}
awk -F, 'NR==1{n=NF;next} {if(NF!=n){bad++;next} for(i=1;i<=NF;i++) if($i=="") bad++; if(NR>2 && $1+0<=prev) nonmono++; prev=$1+0; for(i=2;i<=NF;i++) if($i+0>3.2||$i+0<-3.2) range++}
 END{printf "{\\"rowsChecked\\":%d,\\"malformedRows\\":%d,\\"nonMonotonicTimestamps\\":%d,\\"outOfRangeJointValues\\":%d,\\"valid\\":%s}\\n",NR-1,bad+0,nonmono+0,range+0,(bad+nonmono+range==0)?"true":"false"}' "$f" > /emboflow/outputs/validation.json
cp /emboflow/outputs/validation.json /emboflow/outputs/result.json; cat /emboflow/outputs/validation.json
grep -q '"valid":true' /emboflow/outputs/validation.json || { echo "episode failed validation" >&2; exit 1; }`,
        { inputs: ['quality_report'], outputs: ['quality_report'] },
        'quality_report',
        'Episode validation',
      ),
      node(
        'convert',
        `${FIND_EPISODE}
awk -F, 'NR==1{for(i=1;i<=NF;i++) h[i]=$i; n=NF; next} {printf "{"; for(i=1;i<=n;i++) printf "%s\\"%s\\":%s", (i>1?",":""), h[i], $i; print "}"}' "$f" > /emboflow/outputs/episode.jsonl
echo "wrote $(wc -l < /emboflow/outputs/episode.jsonl) normalized records"`,
        { inputs: ['quality_report'], outputs: ['normalized_dataset'] },
        'normalized_dataset',
        'Normalized episode (JSON Lines)',
      ),
      node(
        'report',
        `rows=$(grep -o '"rows":[0-9]*' /emboflow/inputs/probe/probe.json | cut -d: -f2)
cols=$(grep -o '"columns":[0-9]*' /emboflow/inputs/probe/probe.json | cut -d: -f2)
records=$(wc -l < /emboflow/inputs/convert/episode.jsonl)
sum=$(md5sum /emboflow/inputs/convert/episode.jsonl | cut -c1-12)
printf '# Episode QA report\\n\\n- rows probed: %s (%s columns)\\n- validation: passed\\n- normalized records: %s (episode.jsonl, md5 %s)\\n' "$rows" "$cols" "$records" "$sum" > /emboflow/outputs/report.md
printf '{"rows":%s,"columns":%s,"valid":true,"normalizedRecords":%s}\\n' "$rows" "$cols" "$records" > /emboflow/outputs/result.json
cat /emboflow/outputs/report.md`,
        { inputs: ['normalized_dataset', 'quality_report'], outputs: ['delivery_package'] },
        'delivery_package',
        'Episode QA report',
      ),
    ],
    edges: [
      { source: 'probe', target: 'validate' },
      { source: 'validate', target: 'convert' },
      { source: 'convert', target: 'report' },
      { source: 'probe', target: 'report' },
    ],
    settings: { maxParallelism: 4, failFast: false },
  };
}

/** A synthetic 6-joint arm episode: timestamps in seconds and joint angles in radians. */
export function syntheticEpisodeCsv(rows = 240): string {
  const lines = ['t,j0,j1,j2,j3,j4,j5'];
  for (let i = 0; i < rows; i++) {
    const t = i / 30;
    const joints = Array.from({ length: 6 }, (_, j) => (Math.sin(t * (j + 1) * 0.7) * (1.2 + j * 0.2)).toFixed(4));
    lines.push([t.toFixed(4), ...joints].join(','));
  }
  return `${lines.join('\n')}\n`;
}
