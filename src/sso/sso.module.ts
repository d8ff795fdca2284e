import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { IdentityModule } from '../identity/identity.module';
import { DomainsService } from './domains.service';
import { SamlAuthGuard } from './saml-auth.guard';
import { SamlConfigService } from './saml-config.service';
import { SamlController } from './saml.controller';
import { SamlStrategy } from './saml.strategy';
import { SsoConfigController } from './sso-config.controller';
import { SsoLoginService } from './sso-login.service';

@Module({
  imports: [PassportModule, IdentityModule],
  controllers: [SamlController, SsoConfigController],
  providers: [SamlConfigService, DomainsService, SsoLoginService, SamlStrategy, SamlAuthGuard],
})
export class SsoModule {}
