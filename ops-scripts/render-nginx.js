#!/usr/bin/env node
// Renders nginx/instatunnel.conf.template from environment variables and prints it.
// Refuses to render with a missing variable, so a typo cannot produce an open config.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const defaults = { LISTEN: '80', TLS: '', ADMIN_ALLOW: '127.0.0.1' };
const env = { ...defaults, ...process.env };
const required = ['API_UPSTREAM', 'INGRESS_UPSTREAM', 'TUNNEL_DOMAIN', 'API_HOST', 'ADMIN_HOST'];
const missing = required.filter((k) => !env[k]);
if (missing.length) {
  console.error(`render-nginx: missing ${missing.join(', ')}`);
  process.exit(2);
}
if (!/^[a-z0-9.-]+$/.test(env.TUNNEL_DOMAIN)) {
  console.error('render-nginx: TUNNEL_DOMAIN must be a lowercase DNS name');
  process.exit(2);
}
const allow = env.ADMIN_ALLOW.split(/\s+/).filter(Boolean);
if (!allow.every((a) => /^[0-9a-fA-F:./]+$/.test(a))) {
  console.error('render-nginx: ADMIN_ALLOW must list addresses or CIDRs');
  process.exit(2);
}
const vars = {
  ...env,
  TUNNEL_DOMAIN_REGEX: env.TUNNEL_DOMAIN.replace(/\./g, '\\.'),
  ADMIN_ALLOW_DIRECTIVES: allow.map((a) => `allow ${a};`).join('\n    '),
};
const template = readFileSync(join(__dirname, '..', 'nginx', 'instatunnel.conf.template'), 'utf8');
process.stdout.write(template.replace(/\$\{([A-Z_]+)\}/g, (_, k) => (k in vars ? vars[k] : `\${${k}}`)));
