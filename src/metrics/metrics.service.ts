import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BlockEventWriter } from '../policies/block-events';
import { PolicyRateLimiter } from '../security/policy-rate-limiter';
import { SsoStats } from '../security/sso-stats';
import { TunnelRegistry } from '../tunnels/tunnel-registry';

const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * Prometheus metrics for this process. The ingress touches only pre-bound children (no label
 * lookups per request); byte totals and gauges are computed at scrape time from the registry.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly byClass: { inc(): void }[];
  readonly forwarded: Counter;
  readonly latency: Histogram;

  constructor(
    tunnels: TunnelRegistry,
    limiter: PolicyRateLimiter,
    blocks: BlockEventWriter,
    sso: SsoStats,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'instatunnel_' });
    const requests = new Counter({
      name: 'instatunnel_ingress_requests_total',
      help: 'Public requests answered by this node, by status class',
      labelNames: ['status_class'],
      registers: [this.registry],
    });
    this.byClass = CLASSES.map((c) => requests.labels(c));
    this.forwarded = new Counter({
      name: 'instatunnel_ingress_forwarded_total',
      help: 'Requests handed to the node that holds the agent (counted there, not here)',
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: 'instatunnel_ingress_response_seconds',
      help: 'Time from request to response headers through the tunnel',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    new Gauge({
      name: 'instatunnel_agents_connected',
      help: 'Agent connections on this node',
      registers: [this.registry],
      collect() {
        this.set(tunnels.size);
      },
    });
    new Gauge({
      name: 'instatunnel_tunnels_active',
      help: 'Distinct tunnel names served by this node',
      registers: [this.registry],
      collect() {
        this.set(tunnels.names);
      },
    });
    new Counter({
      name: 'instatunnel_policy_rate_limit_fail_open_total',
      help: 'Policy rate-limit checks let through because Redis did not answer',
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(limiter.failOpenCount);
      },
    });
    new Counter({
      name: 'instatunnel_policy_block_events_total',
      help: 'Policy block event rows written (aggregated per rule, ip and minute) and dropped under overload',
      labelNames: ['outcome'],
      registers: [this.registry],
      collect() {
        this.reset();
        this.labels('written').inc(blocks.written);
        this.labels('dropped').inc(blocks.dropped);
      },
    });
    new Counter({
      name: 'instatunnel_sso_logins_total',
      help: 'SAML logins by outcome, and refusals by reason',
      labelNames: ['outcome', 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        this.labels('success', '').inc(sso.successes.value);
        for (const [reason, n] of sso.failures) this.labels('failure', reason).inc(n);
      },
    });
    new Counter({
      name: 'instatunnel_ingress_bytes_total',
      help: 'Body bytes through the tunnels of this node',
      labelNames: ['direction'],
      registers: [this.registry],
      collect() {
        const t = tunnels.byteTotals();
        this.reset();
        this.labels('in').inc(t.in);
        this.labels('out').inc(t.out);
      },
    });
  }

  status(code: number): void {
    const i = ((code / 100) | 0) - 1;
    if (i >= 0 && i < 5) this.byClass[i].inc();
  }
}
