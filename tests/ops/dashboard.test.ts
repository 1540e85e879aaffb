// The Grafana dashboard and the Prometheus alert rules in ops/ name only metrics that a live gateway exports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startGateway } from '../support/gateway';
import { closedAfterEach } from '../support/lifecycle';
import { startRedisServer } from '../../testing/redis-server';
import type { TestGateway } from '../support/gateway';

const OPS = join(__dirname, '..', '..', 'ops');

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets: { refId: string; expr: string }[];
}
interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}

const dashboard = JSON.parse(readFileSync(join(OPS, 'grafana-dashboard.json'), 'utf8')) as {
  uid: string;
  title: string;
  panels: Panel[];
};
const rules = parseYaml(readFileSync(join(OPS, 'prometheus-alerts.yaml'), 'utf8')) as {
  groups: { name: string; rules: Rule[] }[];
};

/** The metric names an expression reads (the gateway's own, node's and the process's namespaces). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(?:oms|nodejs|process)_[a-z0-9_]+\b/g)].map((match) => match[0]);
}

/** Every series name a scrape can hold: from the # TYPE lines, with a histogram's three series. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (name === undefined) continue;
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else names.add(name);
  }
  return names;
}

async function scrape(gw: TestGateway): Promise<string> {
  const response = await fetch(gw.metricsUrl);
  expect(response.status).toBe(200);
  return response.text();
}

describe('ops/grafana-dashboard.json', () => {
  it('is a dashboard whose panels each have a title, a place and at least one query', () => {
    expect(dashboard.uid).toBe('oms-gateway');
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(panel.title).toEqual(expect.any(String));
      expect(panel.type).toBe('timeseries');
      expect(panel.gridPos.w).toBeGreaterThan(0);
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) expect(metricsIn(target.expr).length).toBeGreaterThan(0);
    }
  });

  it('charts connections, calls by errorcode, latency quantiles, the mail queue and deliveries, hashes and event-loop lag', () => {
    const used = new Set(
      dashboard.panels.flatMap((panel) => panel.targets.flatMap((t) => metricsIn(t.expr))),
    );
    for (const name of [
      'oms_connections_open',
      'oms_calls_total',
      'oms_call_duration_seconds_bucket',
      'oms_mail_queue_depth',
      'oms_mail_deliveries_total',
      'oms_password_hashes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(used).toContain(name);
    }
  });
});

describe('ops/prometheus-alerts.yaml', () => {
  it('is a rules file: named groups of alerts, each with an expression, a severity and a summary', () => {
    expect(rules.groups.length).toBeGreaterThan(0);
    for (const group of rules.groups) {
      expect(group.name).toEqual(expect.any(String));
      for (const rule of group.rules) {
        expect(rule.alert).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/);
        expect(metricsIn(rule.expr).length).toBeGreaterThan(0);
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
        expect(['warning', 'critical']).toContain(rule.labels.severity);
        expect(rule.annotations.summary).toEqual(expect.any(String));
      }
    }
  });

  it('alerts on a growing mail queue, dead letters, a high 102 rate and a Redis outage', () => {
    const exprs = rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr));
    expect(exprs.some((expr) => expr.includes('oms_mail_queue_depth'))).toBe(true);
    expect(exprs.some((expr) => expr.includes('oms_mail_deliveries_total') && expr.includes('dead'))).toBe(
      true,
    );
    expect(exprs.some((expr) => expr.includes('errorcode="102"'))).toBe(true);
    expect(exprs.some((expr) => expr.includes('oms_store_up'))).toBe(true);
  });
});

describe('docs/operations.md on the dashboard and the alerts', () => {
  const page = readFileSync(join(__dirname, '..', '..', 'docs', 'operations.md'), 'utf8');
  /** the first cells of a markdown table whose header starts with `| <first> |` */
  function firstColumn(first: string): string[] {
    const table = page.slice(page.indexOf(`| ${first} `)).split('\n\n')[0]!;
    return table
      .split('\n')
      .slice(2)
      .map((row) => row.split('|')[1]!.trim().replace(/`/g, ''));
  }

  it('lists every panel of the dashboard, and no other', () => {
    expect(firstColumn('panel').sort()).toEqual(dashboard.panels.map((panel) => panel.title).sort());
  });

  it('lists every alert of the rules file, and no other', () => {
    const alerts = rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert));
    expect(firstColumn('alert').sort()).toEqual(alerts.sort());
  });
});

describe('the metrics the dashboard and the alerts read', () => {
  it('are all exported by a running gateway', async () => {
    const gw = closedAfterEach(await startGateway());
    const exported = exportedNames(await scrape(gw));
    const expressions = [
      ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)),
      ...rules.groups.flatMap((group) => group.rules.map((rule) => rule.expr)),
    ];
    const missing = expressions.flatMap(metricsIn).filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
  });

  it('report the store as down while Redis does not answer, and as up again once it does', async () => {
    const redis = await startRedisServer();
    try {
      const gw = closedAfterEach(
        await startGateway({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200' }),
      );
      expect(await scrape(gw)).toMatch(/^oms_store_up 1$/m);
      redis.process.kill('SIGSTOP'); // Redis hangs: the scrape still answers, and says the store is down
      try {
        expect(await scrape(gw)).toMatch(/^oms_store_up 0$/m);
      } finally {
        redis.process.kill('SIGCONT');
      }
      expect(await scrape(gw)).toMatch(/^oms_store_up 1$/m);
      // before Redis stops
      await gw.close();
    } finally {
      await redis.stop();
    }
  });
});
