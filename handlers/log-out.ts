// LogOut: ends the caller's session everywhere it is bound; the socket stays open, unauthenticated.
import { z } from 'zod';
import { defineHandler } from './context';
import { StandardResponseSchema } from './replies';

export const logOut = defineHandler({
  name: 'LogOut',
  input: z.object({}),
  summary: "End this connection's session everywhere.",
  output: StandardResponseSchema,
  errors: {
    NotAuthorized: 'no session',
  },
  access: 'session',
  run: async (_payload, context) => {
    const { caller, connection, services } = context;
    if (caller?.sessionId !== undefined) await services.store.sessions.revoke(caller.sessionId);
    connection.bindSession(null);
    services.logger.info({ conn: connection.id, userId: caller?.userId }, 'user logged out');
    return undefined;
  },
});
