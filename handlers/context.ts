// What every handler receives besides its payload: the domain's services (core/services.ts), bound to its types.
import type { Services } from '../core/services';
import { defineHandler as defineGeneric } from '../protocol/handler';
import type { HandlerDefinition } from '../protocol/handler';
import type { PayloadSchema } from '../protocol/payload';

export type { CallContext, Services } from '../core/services';
export type Handler = HandlerDefinition<Services>;

export function defineHandler<S extends PayloadSchema>(definition: HandlerDefinition<Services, S>): Handler {
  return defineGeneric(definition);
}
