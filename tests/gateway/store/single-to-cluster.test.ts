// Moving a deployment from one Redis node to a cluster, as docs/operations.md says: `redis-cli --cluster import`
// copies the keys as they are (their names carry their hash tags), and a gateway on the cluster carries on with
// the users, a reset code and its mail job that a gateway on the one node wrote.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedisServer } from '../../../testing/redis-server';
import type { RedisServer } from '../../../testing/redis-server';
import { startGateway, uniquePrefix } from '../../support/gateway';
import { closedAfterEach } from '../../support/lifecycle';
import { TOPOLOGY_START_MS } from '../../support/redis-test-topologies';
import { startRedisCluster } from '../../support/redis-topology';
import type { RedisCluster } from '../../support/redis-topology';
import {
  ARGON2_TEST_ENV,
  clientAs,
  loginWorks,
  nextOutboxLink,
  passwordOf,
  startResetGateway,
  submitLink,
} from '../../support/reset';
import { openClient } from '../../support/ws-client';

const run = promisify(execFile);
const NEW_PASSWORD = 'moved-to-the-cluster-1';

describe('a single node moved into a cluster with redis-cli --cluster import', () => {
  let node: RedisServer;
  let cluster: RedisCluster;
  beforeAll(async () => {
    node = await startRedisServer();
    cluster = await startRedisCluster();
    await cluster.waitHealthy();
  }, TOPOLOGY_START_MS);
  afterAll(async () => {
    await cluster?.stop();
    await node?.stop();
  });

  it('keeps the users, a pending reset code and its queued mail', async () => {
    const prefix = uniquePrefix();
    // the old deployment: only queues its mail (no delivery), so the job is still in Redis when it stops
    const before = await startResetGateway({
      REDIS_URL: node.url,
      REDIS_PREFIX: prefix,
      MAIL_DELIVERY_CONCURRENCY: '0',
    });
    try {
      const socket = await clientAs(before, 'op');
      expect(await socket.call('ResetPassword', { UserName: 'alice' })).toMatchObject({ result: true });
      await socket.close();
    } finally {
      await before.close();
    }

    await run('redis-cli', [
      '--cluster',
      'import',
      cluster.nodesEnv.split(',')[0]!,
      '--cluster-from',
      `127.0.0.1:${node.port}`,
      '--cluster-copy',
    ]);
    const spread = await Promise.all(
      (await cluster.primaries()).map((primary) => cluster.admin(primary).dbsize()),
    );
    expect(spread.filter((keys) => keys > 0).length).toBeGreaterThan(1);

    // nothing seeded here: the users and the queued mail come from the copy
    const after = closedAfterEach(
      await startGateway({ ...ARGON2_TEST_ENV, REDIS_CLUSTER_NODES: cluster.nodesEnv, REDIS_PREFIX: prefix }),
    );
    expect(await loginWorks(after, 'bob', passwordOf('bob'))).toBe(true);
    const link = await nextOutboxLink(after, 'alice@test.invalid');
    const socket = await openClient(after.wsUrl);
    try {
      expect(await submitLink(socket, link, NEW_PASSWORD)).toMatchObject({ result: true });
    } finally {
      await socket.close();
    }
    expect(await loginWorks(after, 'alice', NEW_PASSWORD)).toBe(true);
    expect(await loginWorks(after, 'alice', passwordOf('alice'))).toBe(false);
  });
});
