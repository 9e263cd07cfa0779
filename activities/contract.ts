// Output contract checks: a node that declares what it produces must produce it. Pure over file names.

/** Types that name a file format; any other declared type (quality_report, any, …) is satisfied by any file. */
const EXTENSIONS: Record<string, string[]> = {
  json: ['.json'],
  csv: ['.csv'],
  text: ['.txt', '.md', '.log'],
  image: ['.png', '.jpg', '.jpeg'],
  video: ['.mp4'],
  hdf5: ['.h5', '.hdf5'],
  rosbag: ['.bag'],
  archive: ['.tar', '.gz', '.tgz', '.zip'],
};

export interface ProducedFile {
  path: string;
  /** For .json files: whether the content parsed. */
  validJson?: boolean;
}

export function checkOutputContract(declared: string[], files: ProducedFile[]): string[] {
  const problems: string[] = [];
  for (const type of declared) {
    const exts = EXTENSIONS[type];
    const matching = exts ? files.filter((f) => exts.some((e) => f.path.toLowerCase().endsWith(e))) : files;
    if (!matching.length) {
      problems.push(
        exts
          ? `declares a ${type} output but produced no ${exts.join('/')} file`
          : `declares a ${type} output but produced no file`,
      );
    } else if (type === 'json' && !matching.some((f) => f.validJson)) {
      problems.push('declares a json output but none of its .json files parses');
    }
  }
  return problems;
}
