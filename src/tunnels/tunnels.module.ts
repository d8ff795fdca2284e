import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IdentityModule } from '../identity/identity.module';
import { MetricsController } from '../metrics/metrics.controller';
import { MetricsService } from '../metrics/metrics.service';
import { PoliciesModule } from '../policies/policies.module';
import { ReservedName } from './entities/reserved-name.entity';
import { IngressServer } from './ingress-server';
import { TunnelEvents } from './tunnel-events.service';
import { TunnelGateway } from './tunnel-gateway';
import { TunnelRegistry } from './tunnel-registry';
import { TunnelsController } from './tunnels.controller';
import { TunnelsService } from './tunnels.service';

/** Agent gateway, the public ingress listener, the live registry and the tunnel API. API server only. */
@Module({
  imports: [IdentityModule, PoliciesModule, TypeOrmModule.forFeature([ReservedName])],
  controllers: [TunnelsController, MetricsController],
  providers: [
    TunnelRegistry,
    TunnelGateway,
    IngressServer,
    TunnelEvents,
    TunnelsService,
    MetricsService,
  ],
  exports: [TunnelRegistry, IngressServer],
})
export class TunnelsModule {}
