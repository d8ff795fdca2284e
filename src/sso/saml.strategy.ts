import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Profile } from '@node-saml/node-saml';
import {
  MultiSamlStrategy,
  type MultiStrategyConfig,
  type VerifyWithRequest,
} from '@node-saml/passport-saml';
import type { Request } from 'express';
import type { SamlContext } from './saml-config.service';
import { SamlRejection } from './saml-xml';
import { SsoLogin, SsoLoginService } from './sso-login.service';

export interface SamlRequest extends Request {
  samlContext?: SamlContext;
}

/**
 * One passport strategy for every org: the guard has already loaded the org's connection onto the
 * request, and getSamlOptions hands node-saml exactly those settings.
 *
 * @nestjs/passport appends its verify callback after the arguments given to super(): with only
 * the options object it lands in MultiSamlStrategy's `signonVerify` slot, which is the one we want
 * (`logoutVerify` stays unset: single logout is not offered). The SSO e2e login proves it.
 */
@Injectable()
export class SamlStrategy extends PassportStrategy(MultiSamlStrategy, 'saml') {
  constructor(private readonly logins: SsoLoginService) {
    const options: MultiStrategyConfig = {
      passReqToCallback: true,
      getSamlOptions: (req, done) => {
        const ctx = (req as unknown as SamlRequest).samlContext;
        if (!ctx) return done(new SamlRejection('not-configured', 'No SAML context'));
        done(null, ctx.options);
      },
    };
    // The mixin's types expect (options, signonVerify) and would put validate() in the logout slot;
    // passing the options alone puts it where sign-on verification is called.
    super(...([options] as unknown as [MultiStrategyConfig, VerifyWithRequest]));
  }

  async validate(req: SamlRequest, profile: Profile | null): Promise<SsoLogin> {
    if (!req.samlContext) throw new SamlRejection('not-configured', 'No SAML context');
    if (!profile) throw new SamlRejection('invalid-response', 'The response carries no login');
    return this.logins.complete(req.samlContext, profile);
  }
}
