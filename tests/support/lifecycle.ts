// Closes what a test opened once it ends, passed or failed: `const gw = useGateway()` instead of `let gw; afterEach(…)`.
//
// Importing this module registers one afterEach and one afterAll at the top level of the test file. They run
// after the file's own hooks of the same kind (jest runs the innermost describe's first), and close what was
// registered, newest first: a client opened in a test closes before the gateway its beforeEach started.
import { startGateway } from './gateway';
import type { TestGateway } from './gateway';
import type { Env } from '../../gateway/config';
import type { GatewayDeps } from '../../gateway/create-gateway';

/** Anything a test opens and must close: gateways, clients, servers, stores. */
export interface Closable {
  close(): unknown;
}

/** Closed after the current test (what a test or a beforeEach opened). */
const forTest: Closable[] = [];
/** Closed after the file's last test (what a beforeAll opened). */
const forFile: Closable[] = [];

/** Closes every resource, newest first, even when one fails; then fails with the first error, if any. */
export async function closeAll(resources: Closable[]): Promise<void> {
  const errors: unknown[] = [];
  for (const resource of resources.splice(0).reverse()) {
    try {
      await resource.close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} resources failed to close`);
}

afterEach(() => closeAll(forTest));
afterAll(() => closeAll(forFile));

/** Registers a resource (in a test or a beforeEach) to be closed after the test; returns it. */
export function closedAfterEach<T extends Closable>(resource: T): T {
  forTest.push(resource);
  return resource;
}

/** Registers a resource (in a beforeAll) to be closed after the file's last test; returns it. */
export function closedAfterAll<T extends Closable>(resource: T): T {
  forFile.push(resource);
  return resource;
}

/** What the use… functions return: the resource the current test sees (throws outside a test). */
export type Current<T> = () => T;

function holder<T>(what: string): { set(value: T | undefined): void; get: Current<T> } {
  let current: T | undefined;
  return {
    set: (value) => (current = value),
    get: () => {
      if (current === undefined) throw new Error(`${what} is only open inside a test (or its setup failed)`);
      return current;
    },
  };
}

/**
 * Opens a resource before each test of the enclosing describe (call it at describe level) and closes it after
 * that test; the returned function gives the current one.
 */
export function openedForEach<T extends Closable>(open: () => Promise<T>, what = 'the resource'): Current<T> {
  const held = holder<T>(what);
  beforeEach(async () => {
    held.set(undefined);
    held.set(closedAfterEach(await open()));
  });
  return held.get;
}

/** As openedForEach, but one resource for all the tests of the enclosing describe, closed after its last. */
export function openedForAll<T extends Closable>(open: () => Promise<T>, what = 'the resource'): Current<T> {
  const held = holder<T>(what);
  let opened: T | undefined;
  beforeAll(async () => {
    held.set((opened = await open()));
  });
  afterAll(async () => {
    const resource = opened;
    held.set((opened = undefined));
    await resource?.close();
  });
  return held.get;
}

/** A gateway (startGateway) for each test of the enclosing describe. */
export function useGateway(env: Env = {}, deps: GatewayDeps = {}): Current<TestGateway> {
  return openedForEach(() => startGateway(env, deps), "useGateway's gateway");
}
