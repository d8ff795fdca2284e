import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/**
 * A minimal authoritative DNS server on a free loopback UDP port, for tests that
 * resolve TXT records through `dns.promises.Resolver#setServers([server.address])`.
 *
 * - TXT (16) for a name with values: NOERROR, AA, one RR per value, TTL 1.
 * - A known name (set with `setTxt`, possibly to `[]`) asked for anything else: NOERROR, no answers.
 * - Any other name: NXDOMAIN.
 * - Packets that cannot be parsed (or are responses) are dropped without a reply.
 *
 * Only the first question is answered and echoed. EDNS is honoured so that answers up to the
 * client's advertised payload size fit in one datagram; anything larger is sent back empty with
 * TC set (there is no TCP listener to retry on).
 */
export class TestDnsServer {
  /** Every question received, in order: lower-cased name without the trailing dot, and QTYPE. */
  readonly queries: { name: string; type: number }[] = [];
  private readonly records = new Map<string, string[]>();
  private stopped: Promise<void> | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
  ) {
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
  }

  static async start(): Promise<TestDnsServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Late socket errors (e.g. ICMP unreachable on send) must not crash the test process.
    socket.on('error', () => undefined);
    return new TestDnsServer(socket, socket.address().port);
  }

  /** `127.0.0.1:<port>`, as accepted by `Resolver#setServers`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replaces the TXT records of `name`; `[]` keeps the name known but without TXT records. */
  setTxt(name: string, values: string[]): void {
    const key = normalizeName(name);
    for (const value of values) {
      if (typeof value !== 'string') throw new TypeError(`TXT value for ${name} must be a string`);
      const bytes = Buffer.byteLength(value, 'utf8');
      // Each 255-byte chunk costs one length byte; RDATA must stay within 65535 bytes.
      if (bytes + Math.max(1, Math.ceil(bytes / 255)) > 0xffff) {
        throw new RangeError(`TXT value for ${name} is too long (${bytes} bytes)`);
      }
    }
    this.records.set(key, [...values]);
  }

  /** Forgets `name` (it answers NXDOMAIN again), or every name when called without one. */
  clear(name?: string): void {
    if (name === undefined) this.records.clear();
    else this.records.delete(normalizeName(name));
  }

  async stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
    return this.stopped;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let response: Buffer | null;
    try {
      response = this.respond(msg);
    } catch {
      response = null;
    }
    if (!response || this.stopped) return;
    this.socket.send(response, rinfo.port, rinfo.address, () => undefined);
  }

  private respond(msg: Buffer): Buffer | null {
    if (msg.length < HEADER_LENGTH) return null;
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    const qdcount = msg.readUInt16BE(4);
    if (flags & FLAG_QR) return null;
    if (qdcount < 1) return null;
    const opcode = (flags >> 11) & 0x0f;
    const rd = flags & FLAG_RD;

    const qname = readName(msg, HEADER_LENGTH);
    if (!qname || qname.end + 4 > msg.length) return null;
    const qtype = msg.readUInt16BE(qname.end);
    const qclass = msg.readUInt16BE(qname.end + 2);
    const name = qname.labels
      .map((label) => label.toString('utf8'))
      .join('.')
      .toLowerCase();
    this.queries.push({ name, type: qtype });

    const edns = findEdnsPayloadSize(msg, qname.end + 4);
    const question = encodeQuestion(qname.labels, qtype, qclass);

    let rcode: number;
    let answers: Buffer[] = [];
    let authoritative = true;
    if (opcode !== OPCODE_QUERY) {
      rcode = RCODE_NOTIMP;
      authoritative = false;
    } else {
      const values = this.records.get(name);
      if (values === undefined) {
        rcode = RCODE_NXDOMAIN;
      } else {
        rcode = RCODE_NOERROR;
        if (qtype === TYPE_TXT && (qclass === CLASS_IN || qclass === CLASS_ANY)) {
          answers = values.map(encodeTxtAnswer);
        }
      }
    }

    const opt = edns === null ? null : encodeOpt();
    const limit = edns === null ? 512 : Math.max(512, Math.min(edns, MAX_UDP_PAYLOAD));
    const fixedLength = HEADER_LENGTH + question.length + (opt?.length ?? 0);
    let truncated = false;
    if (fixedLength + answers.reduce((n, a) => n + a.length, 0) > limit) {
      answers = [];
      truncated = true;
    }

    const header = Buffer.alloc(HEADER_LENGTH);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(
      FLAG_QR |
        (opcode << 11) |
        (authoritative ? FLAG_AA : 0) |
        (truncated ? FLAG_TC : 0) |
        rd |
        rcode,
      2,
    );
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    header.writeUInt16BE(0, 8);
    header.writeUInt16BE(opt ? 1 : 0, 10);
    return Buffer.concat([header, question, ...answers, ...(opt ? [opt] : [])]);
  }
}

const HEADER_LENGTH = 12;
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const OPCODE_QUERY = 0;
const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;
const RCODE_NOTIMP = 4;
const TYPE_TXT = 16;
const TYPE_OPT = 41;
const CLASS_IN = 1;
const CLASS_ANY = 255;
const TTL_SECONDS = 1;
const MAX_UDP_PAYLOAD = 4096;
const MAX_NAME_WIRE_LENGTH = 255;
const MAX_POINTER_JUMPS = 32;

/** Lower-cases and drops one trailing dot; rejects names that cannot be put on the wire. */
function normalizeName(name: string): string {
  const key = (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
  if (key === '') return key;
  let wireLength = 1;
  for (const label of key.split('.')) {
    const bytes = Buffer.byteLength(label, 'utf8');
    if (bytes === 0 || bytes > 63)
      throw new RangeError(`invalid DNS name: ${JSON.stringify(name)}`);
    wireLength += bytes + 1;
  }
  if (wireLength > MAX_NAME_WIRE_LENGTH) throw new RangeError(`DNS name too long: ${name}`);
  return key;
}

interface WireName {
  labels: Buffer[];
  /** Offset just past the name where it starts (after the first pointer, if any). */
  end: number;
}

/** Reads a possibly compressed name; returns null on anything out of bounds, looping or oversized. */
function readName(msg: Buffer, offset: number): WireName | null {
  const labels: Buffer[] = [];
  let pos = offset;
  let end = -1;
  let jumps = 0;
  let wireLength = 1;
  for (;;) {
    if (pos >= msg.length) return null;
    const len = msg[pos];
    if (len === 0) return { labels, end: end < 0 ? pos + 1 : end };
    switch (len & 0xc0) {
      case 0x00: {
        wireLength += len + 1;
        if (wireLength > MAX_NAME_WIRE_LENGTH || pos + 1 + len > msg.length) return null;
        labels.push(Buffer.from(msg.subarray(pos + 1, pos + 1 + len)));
        pos += 1 + len;
        break;
      }
      case 0xc0: {
        if (pos + 1 >= msg.length || ++jumps > MAX_POINTER_JUMPS) return null;
        if (end < 0) end = pos + 2;
        pos = ((len & 0x3f) << 8) | msg[pos + 1];
        break;
      }
      default:
        // 0x40 / 0x80: extended or reserved label types.
        return null;
    }
  }
}

/**
 * Walks the rest of the message for an OPT record and returns its UDP payload size, or null if
 * there is none or the remaining sections do not parse.
 */
function findEdnsPayloadSize(msg: Buffer, afterFirstQuestion: number): number | null {
  const qdcount = msg.readUInt16BE(4);
  const rrBeforeAdditional = msg.readUInt16BE(6) + msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  let pos = afterFirstQuestion;
  for (let i = 1; i < qdcount; i++) {
    const name = readName(msg, pos);
    if (!name || name.end + 4 > msg.length) return null;
    pos = name.end + 4;
  }
  for (let i = 0; i < rrBeforeAdditional + arcount; i++) {
    const name = readName(msg, pos);
    if (!name || name.end + 10 > msg.length) return null;
    const type = msg.readUInt16BE(name.end);
    const rrClass = msg.readUInt16BE(name.end + 2);
    const rdlength = msg.readUInt16BE(name.end + 8);
    pos = name.end + 10 + rdlength;
    if (pos > msg.length) return null;
    if (i >= rrBeforeAdditional && type === TYPE_OPT) return rrClass;
  }
  return null;
}

function encodeQuestion(labels: Buffer[], qtype: number, qclass: number): Buffer {
  const parts: Buffer[] = [];
  for (const label of labels) parts.push(Buffer.from([label.length]), label);
  const tail = Buffer.alloc(5);
  tail.writeUInt8(0, 0);
  tail.writeUInt16BE(qtype, 1);
  tail.writeUInt16BE(qclass, 3);
  parts.push(tail);
  return Buffer.concat(parts);
}

function encodeTxtAnswer(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const strings: Buffer[] = [];
  for (let i = 0; i < bytes.length || strings.length === 0; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    strings.push(Buffer.from([chunk.length]), chunk);
  }
  const rdata = Buffer.concat(strings);
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc000 | HEADER_LENGTH, 0); // owner name: pointer to the question name
  rr.writeUInt16BE(TYPE_TXT, 2);
  rr.writeUInt16BE(CLASS_IN, 4);
  rr.writeUInt32BE(TTL_SECONDS, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([rr, rdata]);
}

/** OPT pseudo-RR: root owner, our payload size, extended RCODE 0, version 0, no options. */
function encodeOpt(): Buffer {
  const opt = Buffer.alloc(11);
  opt.writeUInt8(0, 0);
  opt.writeUInt16BE(TYPE_OPT, 1);
  opt.writeUInt16BE(MAX_UDP_PAYLOAD, 3);
  opt.writeUInt32BE(0, 5);
  opt.writeUInt16BE(0, 9);
  return opt;
}
