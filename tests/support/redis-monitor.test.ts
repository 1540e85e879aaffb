// The raw MONITOR helper: it parses Redis's escaped lines, and starting it while other clients are busy loses no
// line after the confirmation (the race ioredis's monitor() loses).
import { Redis } from 'ioredis';
import { testRedisUrl, uniquePrefix } from './gateway';
import { monitorRedis, parseMonitorLine } from './redis-monitor';

describe('monitorRedis', () => {
  it('parses the source and the escaped arguments of a MONITOR line', () => {
    expect(parseMonitorLine('+1796246070.031613 [0 127.0.0.1:54690] "set" "a\\"b" "c\\\\d\\x01\\n"')).toEqual(
      {
        source: '127.0.0.1:54690',
        args: ['set', 'a"b', 'c\\d\x01\n'],
      },
    );
    expect(parseMonitorLine('+1796246070.031634 [0 lua] "HGETALL" "k"')).toEqual({
      source: 'lua',
      args: ['HGETALL', 'k'],
    });
    expect(parseMonitorLine('-ERR nope')).toBeNull();
  });

  it('starts while another client floods Redis and sees a command sent after it is confirmed', async () => {
    const prefix = uniquePrefix();
    const busy = new Redis(testRedisUrl());
    let flooding = true;
    const flood = (async () => {
      while (flooding) await Promise.all(Array.from({ length: 50 }, (_, i) => busy.set(`${prefix}flood`, i)));
    })();
    const seen: string[][] = [];
    let markerSeen!: () => void;
    const marked = new Promise<void>((resolve) => (markerSeen = resolve));
    try {
      const monitor = await monitorRedis(testRedisUrl(), ({ args }) => {
        if (args[1] !== `${prefix}marker`) return;
        seen.push([...args]);
        markerSeen();
      });
      await busy.get(`${prefix}marker`);
      await marked;
      monitor.close();
      expect(seen).toEqual([['get', `${prefix}marker`]]);
    } finally {
      flooding = false;
      await flood;
      busy.disconnect();
    }
  });
});
