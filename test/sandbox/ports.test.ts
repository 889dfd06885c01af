// --port-offset's arithmetic on the shipped sandbox config: every port and every loopback URL that
// points at a sandbox service moves together, and nothing else does.
import { describe, expect, it } from 'vitest';
import { backendUrls } from '../../src/backends/registry.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { offsetSandboxPorts, portSettings, PortOffsetError } from '../../src/sandbox/ports.ts';

const sandbox = loadConfigFile('config/sandbox.yaml');
const example = loadConfigFile('config/example.yaml', {
  env: {
    COMFY_PROXY_TOKEN: 't',
    AICONNECT_API_KEY: 'k',
    COMFYCONTROL_TOKEN: 't',
    REDIS_URL: 'redis://127.0.0.1:6379',
    REPLICATE_API_TOKEN: 'r',
  },
  readSecretFile: () => 'x',
});
const portsOf = (urls: readonly string[]) => urls.map((u) => Number(new URL(u).port));

describe('offsetSandboxPorts', () => {
  it('moves the MCP, admin, issuer and every backend port of config/sandbox.yaml by the offset, URLs included', () => {
    const moved = offsetSandboxPorts(sandbox, 100);
    expect(moved.server.port).toBe(8180);
    expect(moved.admin.port).toBe(9190);
    expect(moved.sandbox!.services.map((s) => s.port)).toEqual([18280, 18288, 18289, 18290, 18291, 18292, 18293, 18294, 18295, 18296]);
    const auth = moved.auth.mode === 'oauth' ? moved.auth : undefined;
    expect(auth?.issuers).toEqual([
      {
        ...(sandbox.auth.mode === 'oauth' ? sandbox.auth.issuers[0] : {}),
        issuer: 'http://127.0.0.1:18280',
        jwks_uri: 'http://127.0.0.1:18280/jwks.json',
      },
    ]);
    expect(moved.projects.map((p) => portsOf(backendUrls(p.backend)))).toEqual([
      [18288, 18289, 18290],
      [18291],
      [18292],
      [18293],
      [18294],
      [18295],
      [18296],
    ]);
    // Everything but the ports is the same config.
    expect(moved.projects.map((p) => backendUrls(p.backend).map((u) => u.replace(/:\d+/, '')))).toEqual(
      sandbox.projects.map((p) => backendUrls(p.backend).map((u) => u.replace(/:\d+/, ''))),
    );
    expect(offsetSandboxPorts(sandbox, 0)).toEqual(sandbox);
  });

  it('takes a negative offset, and refuses one that moves a port out of range, naming the setting', () => {
    expect(offsetSandboxPorts(sandbox, -80).server.port).toBe(8000);
    expect(() => offsetSandboxPorts(sandbox, 50_000)).toThrow(
      new PortOffsetError('--port-offset 50000 moves sandbox.services[0] (issuer) from 18180 to 68180, outside 1–65535'),
    );
    expect(() => offsetSandboxPorts(sandbox, -8080)).toThrow(/moves server\.port from 8080 to 0, outside 1–65535/);
  });

  it('refuses a config without a sandbox section: its backends are not the sandbox to move', () => {
    expect(() => offsetSandboxPorts(example, 100)).toThrow(PortOffsetError);
  });
});

describe('portSettings', () => {
  it('names the settings that own a port', () => {
    expect(portSettings(sandbox, 8080)).toEqual(['server.port']);
    expect(portSettings(sandbox, 9090)).toEqual(['admin.port']);
    expect(portSettings(sandbox, 18189)).toEqual(['sandbox.services[2] (comfyui)']);
    expect(portSettings(sandbox, 18180)).toEqual(['sandbox.services[0] (issuer)']);
    expect(portSettings(sandbox, 1234)).toEqual([]);
  });
});
