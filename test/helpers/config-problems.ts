// The problems a config text is refused with, as the gateway names them (path and message); none for
// a valid one. Secret files are never found: a test gives what it needs through `env`.
import { expect } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

export function configProblems(text: string, env: NodeJS.ProcessEnv = {}): { path: string; message: string }[] {
  try {
    parseConfig(text, 'test.yaml', {
      env,
      readSecretFile: () => {
        throw Object.assign(new Error('nope'), { code: 'ENOENT' });
      },
    });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}
