import { timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { AppError } from '../common/app-error';
import { AppConfig } from '../config/app-config';
import { Public } from '../identity/auth.decorators';
import { MetricsService } from './metrics.service';

function sameSecret(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** Prometheus scrape endpoint, protected by its own bearer token (not an org API key). */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const token = this.config.METRICS_TOKEN;
    if (!token) throw new AppError('not-found', 'Metrics are disabled (set METRICS_TOKEN)');
    const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!given || !sameSecret(given, token)) {
      throw new AppError('unauthenticated', 'Send "Authorization: Bearer <METRICS_TOKEN>"', {
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
      });
    }
    res.setHeader('Content-Type', this.metrics.registry.contentType);
    res.send(await this.metrics.registry.metrics());
  }
}
