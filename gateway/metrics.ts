// Prometheus metrics (prom-client), one registry per gateway so several gateways can share a process (tests).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly connectionsOpen: Gauge;
  readonly connectionsTotal: Counter;
  readonly calls: Counter<'function' | 'errorcode'>;
  readonly callSeconds: Histogram<'function'>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // includes nodejs_eventloop_lag_seconds and the event-loop delay percentiles
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return {
    registry,
    connectionsOpen: new Gauge({
      name: 'oms_connections_open',
      help: 'WebSocket connections open now',
      registers: [registry],
    }),
    connectionsTotal: new Counter({
      name: 'oms_connections_total',
      help: 'WebSocket connections accepted since start',
      registers: [registry],
    }),
    calls: new Counter({
      name: 'oms_calls_total',
      help: 'Calls answered, by function and errorcode (0 is success)',
      labelNames: ['function', 'errorcode'] as const,
      registers: [registry],
    }),
    callSeconds: new Histogram({
      name: 'oms_call_duration_seconds',
      help: 'Time from decoded frame to encoded reply, by function',
      labelNames: ['function'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
