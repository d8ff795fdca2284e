import { Body, Controller, Get, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { AppError } from '../common/app-error';
import { PROBLEMS } from '../common/problem';
import { Public } from '../identity/auth.decorators';
import { AuthService } from '../identity/auth.service';
import type { Principal } from '../identity/principal';
import { SESSION_COOKIE, SessionService } from '../identity/session.service';
import { UsersService } from '../identity/users.service';
import { InvitationsService } from '../orgs/invitations.service';
import { escapeHtml, page, tokenForm } from './pages';

type Form = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * The HTML pages that mail links open. GET only shows a button, so mail scanners that prefetch
 * links cannot consume a one-time token; the POST does the work through the same services as the API.
 */
@ApiExcludeController()
@Public()
@Controller()
export class WebController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly users: UsersService,
    private readonly invitations: InvitationsService,
  ) {}

  private send(res: Response, status: number, html: string): void {
    res.status(status).type('text/html').setHeader('Cache-Control', 'no-store').send(html);
  }

  private failure(res: Response, title: string, err: unknown): void {
    if (!(err instanceof AppError) || PROBLEMS[err.kind].status >= 500) throw err;
    this.send(
      res,
      PROBLEMS[err.kind].status,
      page(title, `<p class="error">${escapeHtml(err.detail ?? PROBLEMS[err.kind].title)}</p>`),
    );
  }

  @Get('verify-email')
  verifyEmailPage(@Query('token') token: unknown, @Res() res: Response): void {
    this.send(
      res,
      200,
      page('Verify your email address', tokenForm('/verify-email', str(token), 'Verify email')),
    );
  }

  @Post('verify-email')
  @HttpCode(200)
  async verifyEmail(@Body() form: Form, @Res() res: Response): Promise<void> {
    try {
      const user = await this.auth.verifyEmail(str(form.token).slice(0, 128));
      this.send(
        res,
        200,
        page(
          'Email verified',
          `<p>${escapeHtml(user.email)} is verified. You can now create orgs, API keys and tunnels.</p>`,
        ),
      );
    } catch (err) {
      this.failure(res, 'Verification failed', err);
    }
  }

  private async sessionPrincipal(req: Request): Promise<Principal | null> {
    const token = (req.cookies as Record<string, string> | undefined)?.[SESSION_COOKIE];
    const session = token ? await this.sessions.find(token) : null;
    const user = session ? await this.users.findSessionUser(session) : null;
    return session && user
      ? { kind: 'session', user, sessionKey: session.key, ssoOrgId: session.ssoOrgId ?? null }
      : null;
  }

  @Get('invitations/accept')
  async invitationPage(
    @Query('token') token: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const principal = await this.sessionPrincipal(req);
    const login = principal
      ? `<p>Logged in as ${escapeHtml(principal.user.email)}.</p>`
      : `<label>Email<input name="email" type="email" autocomplete="username" required></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>`;
    this.send(
      res,
      200,
      page(
        'Join an org on InstaTunnel',
        tokenForm('/invitations/accept', str(token), 'Accept invitation', login),
      ),
    );
  }

  @Post('invitations/accept')
  @HttpCode(200)
  async acceptInvitation(
    @Body() form: Form,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    try {
      let principal = await this.sessionPrincipal(req);
      if (!principal) {
        const { user, token } = await this.auth.login(
          str(form.email).slice(0, 254),
          str(form.password).slice(0, 256),
          req.ip ?? null,
        );
        res.cookie(SESSION_COOKIE, token, this.sessions.cookieOptions());
        principal = { kind: 'session', user, sessionKey: '', ssoOrgId: null };
      }
      if (!principal.user.emailVerified)
        throw new AppError('email-not-verified', 'Verify your email address first');
      const { role } = await this.invitations.accept(principal, str(form.token).slice(0, 128));
      this.send(
        res,
        200,
        page('Invitation accepted', `<p>You joined the org as ${escapeHtml(role)}.</p>`),
      );
    } catch (err) {
      this.failure(res, 'Could not accept the invitation', err);
    }
  }
}
