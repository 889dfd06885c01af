// One simulated backend run alone, as a user would: npm run sandbox -- --kind agent_jobs
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('standalone simulation', () => {
  it('serves its seeded jobs on the port it prints, with the credential it prints', async () => {
    const child = spawn(process.execPath, ['src/sandbox/main.ts', '--kind', 'agent_jobs', '--credential', 'my-key']);
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('succeeded')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}`)));
      });
      const url = /listening on (\S+)/.exec(out)![1]!;
      const id = /succeeded\s+(\S+)/.exec(out)![1]!;
      const ok = await fetch(`${url}/services/agent-jobs/${id}`, { headers: { authorization: 'Bearer my-key' } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { data: { job_status: string } }).data.job_status.toLowerCase()).toBe('completed');
      const denied = await fetch(`${url}/services/agent-jobs/${id}`, { headers: { authorization: 'Bearer wrong' } });
      expect(denied.status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('refuses an unknown kind with usage', async () => {
    const child = spawn(process.execPath, ['src/sandbox/main.ts', '--kind', 'slurm']);
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    expect(await new Promise((r) => child.once('exit', r))).toBe(2);
    expect(err).toMatch(/Usage/);
  });
});
