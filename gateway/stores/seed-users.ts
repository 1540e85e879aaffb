// Users loaded at start-up: the documented demo set in development mode, or a SEED_FILE of the same shape.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Config } from '../config';
import type { Logger } from '../../core/ports/logger';
import type { PasswordHasher } from '../password-hasher';
import { DuplicateUserError } from '../../core/ports/store';
import type { Store } from '../../core/ports/store';
import { LANGUAGES } from '../../core/languages';
import { wireUserName } from '../../handlers/user-wire';

/** One user of a seed file (PascalCase, like the wire). Password is hashed on load; PasswordHash is kept as is. */
export const SeedUserSchema = z
  .object({
    UserName: wireUserName,
    Email: z.email(),
    Password: z.string().min(1).max(1024).optional(),
    PasswordHash: z.string().startsWith('$argon2').optional(),
    EmailVerified: z.boolean().default(true),
    Locked: z.boolean().default(false),
    Permissions: z.array(z.string().min(1).max(128)).default([]),
    AccountIds: z.array(z.number().int().positive()).default([]),
    /** default the first of AccountIds */
    AccountId: z.number().int().positive().optional(),
    /** the language of the user's mails and reset page (en, de, fr, es); default none: the request's */
    Language: z.enum(LANGUAGES).nullable().optional(),
  })
  .strict();
export type SeedUser = z.input<typeof SeedUserSchema>;

export const SeedFileSchema = z.array(SeedUserSchema);

/**
 * The demo set (README, Demo users): an Operator, two Trading users sharing account 1, a Trading user of
 * account 2 and a read-only user of account 1. Passwords are public: development mode only.
 */
export const DEMO_USERS: readonly SeedUser[] = [
  {
    UserName: 'operator',
    Email: 'operator@demo.invalid',
    Password: 'demo-operator',
    Permissions: ['Operator'],
  },
  {
    UserName: 'trader1',
    Email: 'trader1@demo.invalid',
    Password: 'demo-trader1',
    Permissions: ['Trading'],
    AccountIds: [1],
  },
  {
    UserName: 'trader2',
    Email: 'trader2@demo.invalid',
    Password: 'demo-trader2',
    Permissions: ['Trading'],
    AccountIds: [1],
  },
  {
    UserName: 'trader3',
    Email: 'trader3@demo.invalid',
    Password: 'demo-trader3',
    Permissions: ['Trading'],
    AccountIds: [2],
  },
  {
    UserName: 'viewer1',
    Email: 'viewer1@demo.invalid',
    Password: 'demo-viewer1',
    Permissions: ['AccountReadOnly'],
    AccountIds: [1],
  },
];

export class SeedFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SeedFileError';
  }
}

/** Reads and validates a seed file; the error names the file and the entry, never a value. */
export async function readSeedFile(path: string): Promise<SeedUser[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SeedFileError(`SEED_FILE ${path} cannot be read`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SeedFileError(`SEED_FILE ${path} is not valid JSON`);
  }
  const parsed = SeedFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      .join('; ');
    throw new SeedFileError(`SEED_FILE ${path} is not a list of users: ${problems}`);
  }
  return parsed.data;
}

/**
 * Creates the users a store does not have yet (by name), hashing their passwords; a name already there is
 * kept as it is, so several gateways starting on one Redis with the same file load it once.
 * Returns the users created.
 */
export async function seedUsers(
  store: Store,
  hasher: PasswordHasher,
  seeds: readonly SeedUser[],
  logger: Logger,
): Promise<string[]> {
  const created: string[] = [];
  for (const raw of seeds) {
    const seed = SeedUserSchema.parse(raw);
    const passwordHash =
      seed.PasswordHash ?? (seed.Password === undefined ? null : await hasher.hash(seed.Password));
    try {
      await store.users.create({
        userName: seed.UserName,
        email: seed.Email,
        emailVerified: seed.EmailVerified,
        passwordHash,
        locked: seed.Locked,
        permissions: seed.Permissions,
        accountIds: seed.AccountIds,
        accountId: seed.AccountId,
        language: seed.Language ?? null,
      });
      created.push(seed.UserName);
    } catch (error) {
      if (!(error instanceof DuplicateUserError)) throw error;
      logger.info(
        { userName: seed.UserName, field: error.field },
        'seed user already present; kept as it is',
      );
    }
  }
  return created;
}

/**
 * Start-up data: the users of SEED_FILE when it is set; otherwise, in development mode on the embedded store,
 * the demo users (printed, so a newcomer can log in at once). Their passwords are public, so never elsewhere.
 */
export async function loadStartupUsers(
  store: Store,
  hasher: PasswordHasher,
  config: Pick<Config, 'seedFile' | 'dev'>,
  logger: Logger,
): Promise<void> {
  const { seedFile } = config;
  if (seedFile !== null) {
    const created = await seedUsers(store, hasher, await readSeedFile(seedFile), logger);
    logger.info({ seedFile, created }, 'seed users loaded');
    return;
  }
  if (!config.dev || store.kind !== 'memory') return;
  await seedUsers(store, hasher, DEMO_USERS, logger);
  const logins = DEMO_USERS.map((user) => {
    const accounts = user.AccountIds?.length ? `, account ${user.AccountIds.join(' ')}` : '';
    return `${user.UserName} / ${user.Password} (${(user.Permissions ?? []).join(' ')}${accounts})`;
  });
  // demo passwords are public by design; in `msg` because the logger redacts any "password" field
  logger.info({}, `demo users loaded (development mode, embedded store); log in with: ${logins.join('; ')}`);
}
