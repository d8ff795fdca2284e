import { createSocket, type Socket } from 'node:dgram';
import type { promises as dnsPromises } from 'node:dns';
import { TestDnsServer } from '../helpers/dns-server';

const TYPE_A = 1;
const TYPE_TXT = 16;

async function resolverFor(server: TestDnsServer): Promise<dnsPromises.Resolver> {
  const resolver = new (await import('node:dns')).promises.Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([server.address]);
  return resolver;
}

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
  throw new Error('expected the lookup to fail');
}

function sorted(records: string[][]): string[][] {
  return [...records].sort((a, b) => a.join('').localeCompare(b.join('')));
}

describe('TestDnsServer (dns test helper)', () => {
  let server: TestDnsServer;
  let resolver: dnsPromises.Resolver;

  beforeAll(async () => {
    server = await TestDnsServer.start();
    resolver = await resolverFor(server);
  });

  afterAll(async () => {
    await server.stop();
  });

  beforeEach(() => {
    server.clear();
    server.queries.length = 0;
  });

  it('listens on a loopback port and exposes it as a resolver address', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
  });

  it('answers TXT queries with the values that were set, one record per value', async () => {
    server.setTxt('_verify.example.test', ['token=abc', 'second value']);
    expect(sorted(await resolver.resolveTxt('_verify.example.test'))).toEqual([
      ['second value'],
      ['token=abc'],
    ]);
    expect(server.queries).toEqual([{ name: '_verify.example.test', type: TYPE_TXT }]);
  });

  it('splits long values into 255-byte character-strings that the caller joins back', async () => {
    const long = Array.from({ length: 300 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    server.setTxt('long.example.test', [long]);
    const records = await resolver.resolveTxt('long.example.test');
    expect(records).toHaveLength(1);
    expect(records[0].map((chunk) => chunk.length)).toEqual([255, 45]);
    expect(records[0].join('')).toBe(long);
  });

  it('matches names case-insensitively, with or without the trailing dot', async () => {
    server.setTxt('Mixed.Example.TEST.', ['v']);
    expect(await resolver.resolveTxt('mixed.example.test')).toEqual([['v']]);
    expect(await resolver.resolveTxt('MIXED.example.test.')).toEqual([['v']]);
  });

  it('reports ENODATA for a known name without TXT records, or when asked for another type', async () => {
    server.setTxt('empty.example.test', []);
    expect(await errorCode(resolver.resolveTxt('empty.example.test'))).toBe('ENODATA');
    server.setTxt('txt-only.example.test', ['x']);
    expect(await errorCode(resolver.resolve4('txt-only.example.test'))).toBe('ENODATA');
    expect(server.queries).toContainEqual({ name: 'txt-only.example.test', type: TYPE_A });
  });

  it('reports ENOTFOUND (NXDOMAIN) for a name it does not know', async () => {
    expect(await errorCode(resolver.resolveTxt('unknown.example.test'))).toBe('ENOTFOUND');
  });

  it('serves updates made with setTxt and clear on the very next query', async () => {
    const name = 'rotating.example.test';
    server.setTxt(name, ['one']);
    expect(await resolver.resolveTxt(name)).toEqual([['one']]);
    server.setTxt(name, ['two', 'three']);
    expect(sorted(await resolver.resolveTxt(name))).toEqual([['three'], ['two']]);
    server.setTxt(name, []);
    expect(await errorCode(resolver.resolveTxt(name))).toBe('ENODATA');
    server.setTxt(name, ['four']);
    expect(await resolver.resolveTxt(name)).toEqual([['four']]);
    server.clear(name);
    expect(await errorCode(resolver.resolveTxt(name))).toBe('ENOTFOUND');
  });

  describe('on the wire', () => {
    let client: Socket;
    const replies: Buffer[] = [];

    beforeAll(async () => {
      client = createSocket('udp4');
      client.on('message', (msg) => replies.push(msg));
      await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    });

    afterAll(async () => {
      await new Promise<void>((resolve) => client.close(() => resolve()));
    });

    beforeEach(() => {
      replies.length = 0;
    });

    async function send(packet: Buffer): Promise<void> {
      await new Promise<void>((resolve, reject) =>
        client.send(packet, server.port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    }

    async function nextReply(timeoutMs = 2000): Promise<Buffer> {
      const deadline = Date.now() + timeoutMs;
      while (replies.length === 0) {
        if (Date.now() > deadline) throw new Error('no reply from the DNS server');
        await new Promise((r) => setTimeout(r, 10));
      }
      return replies.shift()!;
    }

    function header(id: number, flags: number, qdcount = 1): Buffer {
      const h = Buffer.alloc(12);
      h.writeUInt16BE(id, 0);
      h.writeUInt16BE(flags, 2);
      h.writeUInt16BE(qdcount, 4);
      return h;
    }

    function typeAndClass(type: number): Buffer {
      const b = Buffer.alloc(4);
      b.writeUInt16BE(type, 0);
      b.writeUInt16BE(1, 2);
      return b;
    }

    it('copies the ID and RD flag, sets QR and AA, echoes the question and follows pointers', async () => {
      server.setTxt('ptr.example.test', ['via pointer']);
      // Question "ptr" + pointer to "example.test" stored after the question section.
      const suffixOffset = 12 + 4 + 2 + 4;
      const packet = Buffer.concat([
        header(0xbeef, 0x0100),
        Buffer.from([3, ...Buffer.from('ptr')]),
        Buffer.from([0xc0, suffixOffset]),
        typeAndClass(TYPE_TXT),
        Buffer.from([7, ...Buffer.from('example'), 4, ...Buffer.from('test'), 0]),
      ]);
      await send(packet);
      const reply = await nextReply();

      expect(reply.readUInt16BE(0)).toBe(0xbeef);
      const flags = reply.readUInt16BE(2);
      expect(flags & 0x8000).toBe(0x8000); // QR
      expect(flags & 0x0400).toBe(0x0400); // AA
      expect(flags & 0x0100).toBe(0x0100); // RD copied
      expect(flags & 0x000f).toBe(0); // NOERROR
      expect(reply.readUInt16BE(4)).toBe(1);
      expect(reply.readUInt16BE(6)).toBe(1);

      const echoed = Buffer.concat([
        Buffer.from([3, ...Buffer.from('ptr'), 7, ...Buffer.from('example'), 4]),
        Buffer.from('test'),
        Buffer.from([0]),
        typeAndClass(TYPE_TXT),
      ]);
      expect(reply.subarray(12, 12 + echoed.length)).toEqual(echoed);
      const rr = reply.subarray(12 + echoed.length);
      expect(rr.readUInt16BE(0)).toBe(0xc00c);
      expect(rr.readUInt16BE(2)).toBe(TYPE_TXT);
      expect(rr.readUInt32BE(6)).toBe(1); // TTL
      expect(rr.subarray(12).toString('latin1')).toBe('\u000bvia pointer');
      expect(server.queries).toEqual([{ name: 'ptr.example.test', type: TYPE_TXT }]);
    });

    it('leaves RD clear when the query did not set it, and answers NXDOMAIN for unknown names', async () => {
      await send(
        Buffer.concat([
          header(7, 0),
          Buffer.from([4, ...Buffer.from('nope'), 4, ...Buffer.from('test'), 0]),
          typeAndClass(TYPE_TXT),
        ]),
      );
      const reply = await nextReply();
      expect(reply.readUInt16BE(0)).toBe(7);
      const flags = reply.readUInt16BE(2);
      expect(flags & 0x8000).toBe(0x8000);
      expect(flags & 0x0100).toBe(0);
      expect(flags & 0x000f).toBe(3);
      expect(reply.readUInt16BE(6)).toBe(0);
    });

    it('ignores malformed packets and keeps serving', async () => {
      const question = Buffer.concat([
        Buffer.from([2, ...Buffer.from('ok'), 4, ...Buffer.from('test'), 0]),
        typeAndClass(TYPE_TXT),
      ]);
      await send(Buffer.from([1, 2, 3])); // shorter than a header
      await send(header(1, 0, 0)); // no question
      await send(Buffer.concat([header(2, 0x8000), question])); // a response, not a query
      await send(Buffer.concat([header(3, 0), Buffer.from([0xc0, 12]), typeAndClass(TYPE_TXT)])); // pointer loop
      await send(Buffer.concat([header(4, 0), Buffer.from([9, ...Buffer.from('short')])])); // label past the end
      await send(Buffer.concat([header(5, 0), Buffer.from([0xc0])])); // truncated pointer
      await send(Buffer.concat([header(6, 0), Buffer.from([0x40, 1, 0]), typeAndClass(TYPE_TXT)])); // extended label type

      server.setTxt('ok.test', ['still here']);
      await send(Buffer.concat([header(42, 0x0100), question]));
      const reply = await nextReply();
      expect(reply.readUInt16BE(0)).toBe(42);
      expect(replies).toHaveLength(0);
      expect(await resolver.resolveTxt('ok.test')).toEqual([['still here']]);
    });
  });
});
