// One job tool: its MCP definition, the policy it declares (scope and budget), and how it runs on the
// job service. Each tool is one file beside this one; job-tools.ts lists them.
import type { Tool } from '@modelcontextprotocol/server';
import type { JobService } from '../../jobs/job-service.ts';
import type { Reply, ServiceCallContext } from '../../jobs/replies.ts';
import type { ToolPolicy } from '../policy.ts';

export interface JobTool<Name extends string = string> extends ToolPolicy {
  /** What tools/list states: name, title, description, JSON Schemas, annotations. */
  readonly definition: Tool & { name: Name };
  /** Parses the arguments and runs the tool; argument problems come back as an INVALID_ARGUMENT reply, like any other failure. */
  run(service: JobService, args: unknown, context: ServiceCallContext): Promise<Reply<object>>;
}
