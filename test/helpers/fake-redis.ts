// A stand-in for Redis in unit tests of the state store (the real-Redis tests are in
// test/e2e/shared-state.test.ts): enough of the protocol for ioredis's handshake and the shared map,
// and switches to make it stop answering or refuse writes, as a real server in trouble does.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A TCP server on a free loopback port, pushed onto `servers` for the caller to close. */
export async function listen(onSocket: (socket: Socket) => void, servers: Server[]): Promise<{ server: Server; port: number }> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    onSocket(socket);
  });
  // A server that never answers keeps its connections: close() ends them, or it would wait forever.
  const close = server.close.bind(server);
  server.close = (cb) => {
    open.forEach((s) => s.destroy());
    return close(cb);
  };
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Just enough of Redis for the shared map: the handshake, PING, SET (NX), GET, HGET, FLUSHDB and the
 * map's write script (EVALSHA answers NOSCRIPT, so the client sends EVAL). `hang` makes it read and never answer;
 * `refuseWrites` makes it answer writes with an error, as a server out of memory does.
 */
export async function fakeRedis(options: { password: string; servers: Server[] }) {
  const hashes = new Map<string, Map<string, string>>();
  const strings = new Map<string, string>();
  const state = { hang: false, refuseWrites: false, commands: [] as string[][] };
  const { server, port } = await listen((socket) => {
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseCommand(buffer);
        if (!parsed) return;
        buffer = buffer.subarray(parsed.used);
        state.commands.push(parsed.args);
        if (!state.hang) socket.write(answer(parsed.args));
      }
    });
  }, options.servers);
  function answer(args: string[]): string {
    const [name = '', ...rest] = args;
    if (state.refuseWrites && ['SET', 'EVAL', 'EVALSHA'].includes(name.toUpperCase()))
      return "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    switch (name.toUpperCase()) {
      case 'AUTH':
        return rest[rest.length - 1] === options.password ? '+OK\r\n' : '-WRONGPASS invalid username-password pair\r\n';
      case 'CLIENT':
      case 'SELECT':
        return '+OK\r\n';
      case 'SET': {
        if (rest.some((a) => a.toUpperCase() === 'NX') && strings.has(rest[0]!)) return '$-1\r\n';
        strings.set(rest[0]!, rest[1]!);
        return '+OK\r\n';
      }
      case 'GET': {
        const v = strings.get(rest[0]!);
        return v === undefined ? '$-1\r\n' : bulk(v);
      }
      case 'FLUSHDB':
        hashes.clear();
        strings.clear();
        return '+OK\r\n';
      case 'INFO':
        return bulk('# Server\r\nloading:0\r\n');
      case 'PING':
        return '+PONG\r\n';
      case 'HGET': {
        const v = hashes.get(rest[0]!)?.get(rest[1]!);
        return v === undefined ? '$-1\r\n' : bulk(v);
      }
      case 'EVALSHA':
        return '-NOSCRIPT No matching script. Please use EVAL.\r\n';
      case 'EVAL': {
        // The map's write script; a conditional write-back (ARGV[7] = 1) keeps an entry of the same or a later time.
        const [, , hash, , field, json, at, , , , ifNewer] = rest;
        const held = hashes.get(hash!)?.get(field!);
        if (ifNewer === '1' && held !== undefined && (JSON.parse(held) as { at: number }).at >= Number(at)) return ':-1\r\n';
        if (!hashes.has(hash!)) hashes.set(hash!, new Map());
        hashes.get(hash!)!.set(field!, json!);
        return ':0\r\n';
      }
      case 'QUIT':
        return '+OK\r\n';
      default:
        return `-ERR unknown command '${name}'\r\n`;
    }
  }
  return { server, port, state, hashes, strings };
}

function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

/** One RESP array of bulk strings, if the buffer holds a whole one. */
function parseCommand(buf: Buffer): { args: string[]; used: number } | undefined {
  let pos = 0;
  const line = () => {
    const end = buf.indexOf('\r\n', pos);
    if (end < 0) return undefined;
    const text = buf.subarray(pos, end).toString();
    pos = end + 2;
    return text;
  };
  const head = line();
  if (head === undefined || !head.startsWith('*')) return undefined;
  const args: string[] = [];
  for (let i = 0; i < Number(head.slice(1)); i++) {
    const len = line();
    if (len === undefined) return undefined;
    const n = Number(len.slice(1));
    if (buf.length < pos + n + 2) return undefined;
    args.push(buf.subarray(pos, pos + n).toString());
    pos += n + 2;
  }
  return { args, used: pos };
}

/**
 * Just enough of a Redis Sentinel for ioredis's Sentinel mode: it names `state.masterPort` on
 * 127.0.0.1 as the master of `name` (change it to fail over), knows no other Sentinel, and records
 * the commands it got (AUTH included).
 */
export async function fakeSentinel(options: { name: string; masterPort: number; password?: string; servers: Server[] }) {
  const state = { masterPort: options.masterPort, commands: [] as string[][] };
  const { server, port } = await listen((socket) => {
    socket.on('error', () => {});
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseCommand(buffer);
        if (!parsed) return;
        buffer = buffer.subarray(parsed.used);
        state.commands.push(parsed.args);
        socket.write(answer(parsed.args));
      }
    });
  }, options.servers);
  function answer(args: string[]): string {
    const [name = '', sub = '', master = ''] = args;
    switch (name.toUpperCase()) {
      case 'AUTH':
        return args[args.length - 1] === options.password ? '+OK\r\n' : '-WRONGPASS invalid username-password pair\r\n';
      case 'SENTINEL':
        if (master !== options.name) return '$-1\r\n';
        if (sub.toLowerCase() === 'get-master-addr-by-name') return `*2\r\n${bulk('127.0.0.1')}${bulk(String(state.masterPort))}`;
        if (sub.toLowerCase() === 'sentinels') return '*0\r\n';
        return `-ERR unknown subcommand '${sub}'\r\n`;
      case 'SUBSCRIBE':
      case 'PSUBSCRIBE':
        return `*3\r\n${bulk(name.toLowerCase())}${bulk(args[1] ?? '')}:1\r\n`;
      case 'PING':
        return '+PONG\r\n';
      case 'CLIENT':
        return '+OK\r\n';
      case 'INFO':
        return bulk('# Server\r\nloading:0\r\n');
      case 'QUIT':
        return '+OK\r\n';
      default:
        return `-ERR unknown command '${name}'\r\n`;
    }
  }
  return { server, port, state };
}
