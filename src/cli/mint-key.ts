// Mints an API key for an existing user and prints it once: `npm run mint-key -- --email someone@example.com`.
// Without --email it mints for the bootstrap admin. Operators use it to hand out the first keys; the API's own
// POST /v1/api-keys needs a key already.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { UserRepository } from '../db/identity';
import { connectDatabase } from '../db/mongo';
import { ApiKeyService } from '../services/api-keys';
import { AuditLog } from '../services/audit';

const BOOTSTRAP_EMAIL = 'admin@emboflow.local';
const USAGE = 'usage: mint-key [--email <user email>] [--name <key name>]   (default: the bootstrap admin)';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string', default: 'cli' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const email = (values.email ?? BOOTSTRAP_EMAIL).toLowerCase();
  const config = loadConfig();
  const database = await connectDatabase(config, { ensureIndexes: false });
  try {
    const user = await new UserRepository(database.db).findActiveByEmail(email);
    if (!user) throw new Error(`no active user with email ${email}`);
    const keys = new ApiKeyService(database.db, new AuditLog(database.db));
    const { key } = await keys.create(user._id, values.name, 'system:mint-key');
    // The only place the plaintext ever appears: stdout, for the operator to hand over.
    process.stdout.write(`${key}\n`);
  } finally {
    await database.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  console.error(USAGE);
  process.exit(1);
});
