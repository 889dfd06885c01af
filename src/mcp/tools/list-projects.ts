// list_projects: the projects this caller may use, so that an agent can find a project_reference
// without a human. Read-only, so it needs the read scope; each call costs one call of its budget.
import { TOOL_SCHEMAS, listProjectsArgs } from './schemas.ts';
import { invalidArguments, parseArguments } from './results.ts';
import type { JobTool } from './job-tool.ts';

export const listProjects: JobTool<'list_projects'> = {
  name: 'list_projects',
  define: (limits) => ({
    name: 'list_projects',
    title: 'List projects',
    description:
      'Lists the projects you may use: each project_reference, its aliases, its backend and what it is for. Call it when you do not know a project_reference. Read-only.',
    inputSchema: TOOL_SCHEMAS.list_projects.input(limits),
    outputSchema: TOOL_SCHEMAS.list_projects.output,
    annotations: { title: 'List projects', readOnlyHint: true, openWorldHint: false },
  }),
  scope: 'read',
  budget: 1,
  async run(service, args, options) {
    const parsed = parseArguments(listProjectsArgs, args);
    if (!parsed.success) return invalidArguments(parsed.error);
    return service.listProjects(options);
  },
};
