// The Redis store's Lua scripts: read once from scripts/*.lua, their `--!include` lines resolved, run by EVALSHA.
//
// A script's file is named after what it does and how many keys it takes (`mail-claim-4keys.lua`; `-nkeys` when
// the call says how many), and opens with a header naming its KEYS, ARGV and reply. Fragments shared by several
// scripts live in scripts/lib/ and are pulled in by a line `--!include lib/<name>.lua` (BullMQ's script loader,
// smaller). ioredis defineCommand sends EVALSHA and, when the server's script cache does not have it yet
// (NOSCRIPT: a restart, a failover, a new cluster node), EVAL once; so the text travels once per connection and node.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';

/** A connection to one node or to a cluster: both run the same scripts and commands. */
export type RedisClient = Redis | Cluster;

/** The folder the .lua files sit in: beside this module in the sources and, copied by `npm run build`, in dist. */
const SCRIPTS_DIR = join(__dirname, 'scripts');

const INCLUDE = /^--!include\s+(\S+)\s*$/gm;

const sources = new Map<string, string>();

/** A script's text with its includes resolved (each fragment once; a cycle is an error). */
export function luaSource(file: string, including: readonly string[] = []): string {
  const cached = sources.get(file);
  if (cached !== undefined) return cached;
  if (including.includes(file)) throw new Error(`Lua include cycle: ${[...including, file].join(' → ')}`);
  const text = readFileSync(join(SCRIPTS_DIR, file), 'utf8').replace(INCLUDE, (_line, name: string) =>
    luaSource(name, [...including, file]),
  );
  sources.set(file, text);
  return text;
}

/** How many KEYS a script takes, from its file name: `-3keys.lua` → 3, `-nkeys.lua` → the call says. */
export function keyCount(file: string): number | 'dynamic' {
  const match = /-(\d+|n)keys\.lua$/.exec(file);
  if (match === null) throw new Error(`${file}: a script's name ends in -<n>keys.lua or -nkeys.lua`);
  return match[1] === 'n' ? 'dynamic' : Number(match[1]);
}

export type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

/** The ioredis command name of a script file: `mail-claim-4keys.lua` → `oms_mail_claim_4keys`. */
function commandName(file: string): string {
  return `oms_${file.replace(/\.lua$/, '').replace(/[^a-z0-9]/gi, '_')}`;
}

/**
 * The script in `file` as a function on `redis` (defined once per connection): its arguments are the KEYS (with
 * the number of keys first for an -nkeys script), then the ARGV. The connection's key prefix applies to the KEYS.
 * `fixedKeys` runs an -nkeys script with that many keys and no count: on a cluster ioredis's auto-pipelining
 * routes a call by its first argument, which must then be a key, not the count.
 */
export function script(redis: RedisClient, file: string, fixedKeys?: number): ScriptCall {
  const name = fixedKeys === undefined ? commandName(file) : `${commandName(file)}_${fixedKeys}`;
  if (!(name in redis)) {
    const numberOfKeys = fixedKeys ?? keyCount(file);
    const lua = luaSource(file);
    redis.defineCommand(name, numberOfKeys === 'dynamic' ? { lua } : { numberOfKeys, lua });
  }
  const call = (redis as unknown as Record<string, ScriptCall | undefined>)[name];
  if (call === undefined) throw new Error(`ioredis did not define ${name}`);
  return call.bind(redis);
}

/** Whether `redis` talks to a Redis Cluster (then one call may only touch the keys of one slot). */
export function isCluster(redis: RedisClient): redis is Cluster {
  return (redis as { isCluster?: boolean }).isCluster === true;
}
