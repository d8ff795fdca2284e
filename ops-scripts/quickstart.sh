#!/usr/bin/env bash
# Brings up a working InstaTunnel on this machine: install, build, migrate, start the API server,
# the worker and a development mail sink, then create a verified demo account, org and API key.
#   npm run quickstart          start (again: restarts what it started before)
#   npm run quickstart:stop     stop what it started
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=.quickstart
mkdir -p "$STATE"

stop_all() {
  for name in server worker mail-sink; do
    if [ -f "$STATE/$name.pid" ]; then
      pid=$(cat "$STATE/$name.pid")
      kill "$pid" 2>/dev/null && for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      rm -f "$STATE/$name.pid"
    fi
  done
}

if [ "${1:-}" = "stop" ]; then
  stop_all
  echo "InstaTunnel quickstart processes stopped."
  exit 0
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

node -e 'const [maj, min] = process.versions.node.split(".").map(Number); process.exit(maj > 20 || (maj === 20 && min >= 11) ? 0 : 1)' \
  || { echo "Node.js >= 20.11 is required (found $(node --version))"; exit 1; }

export PORT="${PORT:-3000}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/instatunnel}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
export PUBLIC_URL="${PUBLIC_URL:-http://localhost:$PORT}"
export COOKIE_SECURE="${COOKIE_SECURE:-false}"
MAIL_SINK=0
if [ -z "${SMTP_URL:-}" ]; then
  export SMTP_URL="smtp://127.0.0.1:${MAIL_SINK_PORT:-1025}"
  MAIL_SINK=1
fi

say "dependencies"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

say "PostgreSQL and Redis"
db_host=$(node -e 'console.log(new URL(process.env.DATABASE_URL).hostname)')
if [ "$db_host" = "127.0.0.1" ] || [ "$db_host" = "localhost" ]; then
  if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -q && command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
if command -v redis-cli >/dev/null && ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && command -v redis-server >/dev/null; then
  case "$REDIS_URL" in
    redis://127.0.0.1:6379*|redis://localhost:6379*) redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no ;;
  esac
fi
node -e '
const { Client } = require("pg");
const url = new URL(process.env.DATABASE_URL);
const name = url.pathname.slice(1);
const admin = new URL(url); admin.pathname = "/postgres";
(async () => {
  const c = new Client({ connectionString: admin.toString() });
  await c.connect();
  const r = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  if (!r.rowCount) { await c.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`); console.log(`created database ${name}`); }
  await c.end();
})().catch((e) => { console.error(`PostgreSQL at ${url.host} is not reachable: ${e.message}`); process.exit(1); });'

say "build and migrate"
npm run build --silent
node dist/src/cli.js migrate

say "start"
stop_all
if [ "$MAIL_SINK" = 1 ]; then
  nohup node ops-scripts/dev-mail-sink.js > "$STATE/mail.log" 2>&1 & echo $! > "$STATE/mail-sink.pid"
fi
nohup node dist/src/main.js > "$STATE/server.log" 2>&1 & echo $! > "$STATE/server.pid"
nohup node dist/src/worker.js > "$STATE/worker.log" 2>&1 & echo $! > "$STATE/worker.pid"
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
  if ! kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null; then echo "server exited:"; tail -n 30 "$STATE/server.log"; exit 1; fi
  sleep 0.2
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || { echo "server not ready:"; tail -n 30 "$STATE/server.log"; exit 1; }

say "demo account"
if [ ! -f "$STATE/demo-password" ]; then
  node -e 'console.log(require("crypto").randomBytes(12).toString("base64url"))' > "$STATE/demo-password"
fi
DEMO_EMAIL="${DEMO_EMAIL:-demo@instatunnel.localhost}"
DEMO_PASSWORD=$(cat "$STATE/demo-password")
node dist/src/cli.js demo-seed --email "$DEMO_EMAIL" --password "$DEMO_PASSWORD" --org demo > "$STATE/demo.json"
chmod 600 "$STATE/demo.json" "$STATE/demo-password"
API_KEY=$(node -e 'console.log(require("./.quickstart/demo.json").apiKey)')

cat <<INFO

InstaTunnel is running.
  API          http://localhost:$PORT   (OpenAPI docs: http://localhost:$PORT/docs)
  tunnels      http://<name>.localhost:${INGRESS_PORT:-8080}   (ingress)
  demo login   $DEMO_EMAIL / $DEMO_PASSWORD   (org "demo", owner)
  API key      $API_KEY   (every scope; also in $STATE/demo.json)
  logs         $STATE/server.log  $STATE/worker.log$( [ "$MAIL_SINK" = 1 ] && echo "  $STATE/mail.log (every mail sent)")

Try next:
  # open a tunnel to a local app (here a throwaway one on port 8000)
  python3 -m http.server 8000 &
  npx instatunnel http 8000 --server http://localhost:$PORT --api-key $API_KEY
  #   → prints http://<name>.localhost:${INGRESS_PORT:-8080}; curl it, or open it in a browser
  curl -s -H "Authorization: Bearer $API_KEY" http://localhost:$PORT/v1/me
  curl -s -X POST http://localhost:$PORT/v1/auth/signup -H 'content-type: application/json' \\
       -d '{"email":"you@example.com","password":"a long passphrase"}'   # then read $STATE/mail.log
  npm run quickstart:stop
INFO
