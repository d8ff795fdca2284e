import type { MailMessage } from './mail.constants';

const escape = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function render(
  to: string,
  template: string,
  subject: string,
  lines: string[],
  link?: { url: string; label: string },
): MailMessage {
  const text = [...lines, ...(link ? ['', `${link.label}: ${link.url}`] : [])].join('\n');
  const html = [
    ...lines.map((l) => `<p>${escape(l)}</p>`),
    ...(link ? [`<p><a href="${escape(link.url)}">${escape(link.label)}</a></p>`] : []),
  ].join('\n');
  return { to, subject, text, html, template };
}

export const mailTemplates = {
  verifyEmail: (to: string, url: string, ttlHours: number) =>
    render(
      to,
      'verify-email',
      'Verify your InstaTunnel email address',
      [
        'Welcome to InstaTunnel.',
        `Confirm this address to create orgs, API keys and tunnels. The link works once and expires in ${ttlHours} hours.`,
        'If you did not sign up, ignore this mail.',
      ],
      { url, label: 'Verify email' },
    ),
  alreadyRegistered: (to: string, loginUrl: string) =>
    render(
      to,
      'already-registered',
      'You already have an InstaTunnel account',
      [
        'Someone (hopefully you) tried to sign up with this address, which already has an account.',
        'Nothing was changed. If this was you, log in instead.',
      ],
      { url: loginUrl, label: 'Log in' },
    ),
  invitation: (to: string, orgName: string, role: string, url: string, ttlHours: number) =>
    render(
      to,
      'invitation',
      `You are invited to ${orgName} on InstaTunnel`,
      [
        `You have been invited to join the org "${orgName}" as ${role}.`,
        `Log in with this address, then accept. The invitation works once and expires in ${ttlHours} hours.`,
      ],
      { url, label: 'Accept invitation' },
    ),
};
