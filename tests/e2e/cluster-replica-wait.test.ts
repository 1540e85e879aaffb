// REDIS_WAIT_REPLICAS on a Redis Cluster whose primaries each have a replica: each node that holds one of a reset's
// final writes (the code in the user's slot, the mail in its queue shard's) gets its own WAIT on the connection that
// wrote there, the reply is true, and the code is already on the replica of its slot's primary.
import { uniquePrefix } from '../support/gateway';
import { closedAfterAll, closedAfterEach } from '../support/lifecycle';
import { TOPOLOGY_START_MS } from '../support/redis-test-topologies';
import { startRedisCluster } from '../support/redis-topology';
import type { RedisCluster } from '../support/redis-topology';
import { clientAs, loginWorks, nextOutboxLink, startResetGateway, submitLink } from '../support/reset';
import { openClient } from '../support/ws-client';
import { userKeys } from '../../gateway/stores/redis/keys';
import { standardSuccess } from '../../protocol/standard-response';

const OK = standardSuccess();
const NEW_PASSWORD = 'tangerine submarine orchestra';

describe('REDIS_WAIT_REPLICAS on a 3 + 3 Redis Cluster', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ replicas: 1 });
    closedAfterAll({ close: () => cluster.stop() });
  }, TOPOLOGY_START_MS);

  it('answers true once each written node’s replica has the writes, and the reset completes', async () => {
    const prefix = uniquePrefix();
    const gw = closedAfterEach(
      await startResetGateway(
        {
          REDIS_CLUSTER_NODES: cluster.nodesEnv,
          REDIS_PREFIX: prefix,
          REDIS_WAIT_REPLICAS: '1',
          REDIS_WAIT_TIMEOUT_MS: '1500',
        },
        {},
        { redis: false },
      ),
    );
    const op = closedAfterEach(await clientAs(gw, 'op'));
    expect(await op.call('ResetPassword', { UserName: 'alice' })).toEqual(OK);
    // WAIT returned before the reply: the replica of the code's primary holds it already, no polling needed
    const alice = (await gw.gateway.services.store.users.findByName('alice'))!;
    const codeKey = `${prefix}${userKeys(alice.userId).resetCode}`;
    const replica = await cluster.replicaOf(await cluster.primaryForSlot(await cluster.keySlot(codeKey)));
    // a replica answers reads of its primary's slots only on a READONLY connection (else MOVED)
    await cluster.admin(replica!).call('READONLY');
    expect(await cluster.admin(replica!).exists(codeKey)).toBe(1);

    const link = await nextOutboxLink(gw, 'alice@test.invalid');
    const page = closedAfterEach(await openClient(gw.wsUrl));
    expect(await submitLink(page, link, NEW_PASSWORD)).toEqual(OK);
    expect(await loginWorks(gw, 'alice', NEW_PASSWORD)).toBe(true);
  });
});
