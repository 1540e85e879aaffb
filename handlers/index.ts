// Every wire function the gateway serves, written out in one place. A duplicate name stops start-up.
import type { Handler } from './context';
import { ping } from './ping';

export const handlers: readonly Handler[] = [ping];
