// assets upload.
import { basename } from 'node:path';
import type { CommandSpec } from '../args';
import { CliError, ExitCode, toCliError, UsageError } from '../errors';
import { renderFields } from '../format';
import { createTransferDisplay, formatBytes } from '../transfer';
import { DEFAULT_PARALLEL, DEFAULT_PART_MIB, MAX_PART_MIB, MIN_PART_MIB, uploadFile } from '../upload';

const MiB = 1024 * 1024;

export const assetsUpload: CommandSpec = {
  name: 'assets upload',
  summary: 'Upload a file as an asset, with progress; big files go in parts and can be resumed',
  args: ['FILE'],
  details: [
    'The file is read as a stream, never whole: hashed first (sha256, which the API checks), then sent. A file',
    'of up to one part goes in one request; a bigger one as a resumable upload whose parts are retried on their',
    'own. If it stops anyway, the error says how to continue: --resume UPLOAD_ID sends only the missing parts.',
  ].join('\n'),
  options: {
    project: { type: 'string', value: 'ID', description: 'the project to upload into (not needed with --resume)' },
    type: {
      type: 'string',
      value: 'TYPE',
      description: 'raw_file (default), archive, standard_dataset, rosbag or hdf5_dataset',
    },
    name: { type: 'string', value: 'NAME', description: "the asset's display name (default: the file's name)" },
    resume: { type: 'string', value: 'UPLOAD_ID', description: 'continue an interrupted upload of this file' },
    'part-size': {
      type: 'string',
      value: 'MIB',
      description: `MiB per part (default ${DEFAULT_PART_MIB}, ${MIN_PART_MIB} to ${MAX_PART_MIB}); a file up to one part goes in one request`,
    },
    parallel: { type: 'string', value: 'N', description: `parts in flight at once (default ${DEFAULT_PARALLEL})` },
  },
  async run(ctx, a) {
    const file = a.arg('FILE');
    const projectId = a.string('project');
    const resumeId = a.string('resume');
    if (!projectId && !resumeId) throw new UsageError('--project is required', a.command);
    const partMiB = a.int('part-size', MIN_PART_MIB) ?? DEFAULT_PART_MIB;
    if (partMiB > MAX_PART_MIB) throw new UsageError(`--part-size is at most ${MAX_PART_MIB} MiB`, a.command);
    const parallel = a.int('parallel') ?? DEFAULT_PARALLEL;
    const client = ctx.client();
    const display = createTransferDisplay(ctx.io);
    let uploadId = resumeId;
    const hint = () =>
      uploadId
        ? `resume with: emboflow assets upload ${file} --resume ${uploadId}${projectId ? ` --project ${projectId}` : ''}`
        : undefined;
    const unregister = ctx.io.onInterrupt(() => {
      display.stop();
      const line = hint();
      if (line) ctx.io.stderr.write(`interrupted; ${line}\n`);
    });
    try {
      const asset = await uploadFile(
        client,
        {
          file,
          displayName: a.string('name') ?? basename(file),
          type: a.string('type') ?? 'raw_file',
          projectId,
          partSizeBytes: partMiB * MiB,
          parallel,
          resumeId,
        },
        {
          phase: (label, total, done) => display.phase(label, total, done),
          progress: (done) => display.update(done),
          opened: (id) => (uploadId = id),
        },
      );
      display.stop();
      if (ctx.json) ctx.printJson(asset);
      else
        ctx.out(
          renderFields([
            ['asset', asset.id],
            ['name', asset.displayName],
            ['type', asset.type],
            ['size', asset.sizeBytes === undefined ? undefined : formatBytes(asset.sizeBytes)],
            ['checksum', asset.storageRef?.checksum],
          ]),
        );
      return 0;
    } catch (err) {
      display.stop();
      const e = toCliError(err, client.baseUrl);
      // Only a transfer that broke off is worth resuming; a refusal (400, 404, 409) would only be repeated.
      const line = e.exitCode === ExitCode.unavailable || e.exitCode === ExitCode.failed ? hint() : undefined;
      throw line ? new CliError(e.message, e.exitCode, [...e.details, line]) : e;
    } finally {
      unregister();
    }
  },
};
