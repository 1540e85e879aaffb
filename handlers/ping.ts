// Ping: the OMS keepalive and reachability check; no login needed.
import { z } from 'zod';
import { defineHandler } from './context';

export const ping = defineHandler({
  name: 'Ping',
  input: z.object({}),
  access: 'public',
  run: () => Promise.resolve({ msg: 'PONG' }),
});
