// Users for load tests and the bench: one operator and many reset targets, in the SEED_FILE shape of gateway/stores/seed-users.ts.
import { writeFileSync } from 'node:fs';
import type { SeedUser } from '../gateway/stores/seed-users';

export interface LoadSeedOptions {
  /** target names: the pattern with {n} = 1 … count, default load-user-{n} (the reset scenarios' `users` param) */
  readonly pattern?: string;
  /** the operator's name, default load-operator */
  readonly operator?: string;
  /** the operator's password (hashed by the gateway on load), default load-operator-password */
  readonly operatorPassword?: string;
  /** the operator's PHC hash instead of a password, e.g. computed once for many gateways */
  readonly operatorPasswordHash?: string;
}

export const LOAD_SEED_DEFAULTS = {
  pattern: 'load-user-{n}',
  operator: 'load-operator',
  operatorPassword: 'load-operator-password',
} as const;

/**
 * One Operator and `count` targets. Targets have no password (nothing to hash at start-up, so a gateway
 * loads tens of thousands quickly); ResetPassword2 gives them one.
 */
export function loadSeedUsers(count: number, options: LoadSeedOptions = {}): SeedUser[] {
  const pattern = options.pattern ?? LOAD_SEED_DEFAULTS.pattern;
  const operator: SeedUser = {
    UserName: options.operator ?? LOAD_SEED_DEFAULTS.operator,
    Email: 'load-operator@load.invalid',
    Permissions: ['Operator'],
    ...(options.operatorPasswordHash === undefined
      ? { Password: options.operatorPassword ?? LOAD_SEED_DEFAULTS.operatorPassword }
      : { PasswordHash: options.operatorPasswordHash }),
  };
  const targets = Array.from({ length: count }, (_, i): SeedUser => {
    const name = pattern.replaceAll('{n}', String(i + 1));
    return { UserName: name, Email: `${name}@load.invalid`, Permissions: ['Trading'], AccountIds: [1] };
  });
  return [operator, ...targets];
}

// `node dist/load/seed-users.js FILE COUNT`: writes a SEED_FILE for a gateway under load
if (require.main === module) {
  const [file, count] = process.argv.slice(2);
  const n = Number(count);
  if (file === undefined || !Number.isInteger(n) || n < 1) {
    process.stderr.write('Usage: node dist/load/seed-users.js FILE COUNT\n');
    process.exitCode = 2;
  } else {
    writeFileSync(file, `${JSON.stringify(loadSeedUsers(n))}\n`);
    process.stderr.write(
      `wrote ${n} users load-user-1 … load-user-${n} and operator ${LOAD_SEED_DEFAULTS.operator} to ${file}\n`,
    );
  }
}
