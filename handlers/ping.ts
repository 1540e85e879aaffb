// Ping: the OMS keepalive and reachability check; no login needed.
import { z } from 'zod';
import { defineHandler } from './context';
import { PingReply } from './replies';

export const ping = defineHandler({
  name: 'Ping',
  input: z.object({}),
  summary: 'The keepalive and reachability check; no login needed.',
  output: PingReply,
  errors: {},
  access: 'public',
  run: () => Promise.resolve({ msg: 'PONG' }),
});
