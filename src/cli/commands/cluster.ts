/**
 * `sluice members`, `sluice leaders` and `sluice config get|set`: the mesh as the public HTTP API
 * shows it (DESIGN.md "Mesh roles"). A server that does not serve a route fails at once with
 * exit 4 and one line saying so.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { err, ok, type Result } from "../../result/result.ts";
import { type Command, intFlag, type ParsedArgs, stringFlag } from "../args.ts";
import { type CliContext, usage } from "../context.ts";
import { readStdin } from "../io.ts";
import { formatInstant, formatTable } from "../table.ts";

/**
 * The `members` command.
 *
 * @example
 * ```sh
 * sluice members          # ID  URL  STATUS  INCARNATION  LAST SEEN  QUEUES
 * ```
 */
export const membersCommand: Command = {
  summary: "cluster members (gossip): status, incarnation, queue depths",
  usage: "sluice members [--json]",
  options: {},
  async run(ctx) {
    const got = await ctx.admin.members();
    if (!got.ok) return got;
    if (ctx.json) {
      ctx.out(JSON.stringify(got.value));
      return ok();
    }
    const rows = got.value.members.map((m) => [
      m.id === got.value.self ? `${m.id} (self)` : m.id,
      m.url,
      m.status,
      m.incarnation,
      formatInstant(m.lastSeenAtMs),
      Object.entries(m.queues ?? {}).map(([q, n]) => `${q}=${n}`).join(" "),
    ]);
    ctx.out(formatTable(["ID", "URL", "STATUS", "INCARNATION", "LAST SEEN", "QUEUES"], rows));
    return ok();
  },
};

/**
 * The `leaders` command.
 *
 * @example
 * ```sh
 * sluice leaders          # SCOPE  LEADER  TERM  EXPIRES
 * ```
 */
export const leadersCommand: Command = {
  summary: "leadership scopes: who leads each, under which term",
  usage: "sluice leaders [--json]",
  options: {},
  async run(ctx) {
    const got = await ctx.admin.leaders();
    if (!got.ok) return got;
    if (ctx.json) ctx.out(JSON.stringify({ scopes: got.value }));
    else if (got.value.length === 0) ctx.out("no leadership scopes (no bridged queue)");
    else {
      const rows = got.value.map((s) => [s.scope, s.leader ?? "(nobody)", s.term, s.expiresAtMs === null ? "-" : formatInstant(s.expiresAtMs)]);
      ctx.out(formatTable(["SCOPE", "LEADER", "TERM", "EXPIRES"], rows));
    }
    return ok();
  },
};

/**
 * The `config` command: `get` prints the applied document, `set` replaces it if the applied
 * version is still the one given with `--if-match`.
 *
 * @example
 * ```sh
 * sluice config get > cluster.json                       # the document (version on stderr)
 * sluice config set cluster.json --if-match 3            # → version 4
 * ```
 */
export const configCommand: Command = {
  summary: "the cluster's control config: get, or set with --if-match <version>",
  usage: "sluice config get [--json]\nsluice config set <file|-> --if-match <version> [--json]",
  options: { "if-match": { type: "string" } },
  async run(ctx, args) {
    const [action, source] = args.positionals;
    if (action === "get") return getConfig(ctx);
    if (action === "set") return setConfig(ctx, args, source);
    return err(usage(`config needs get or set:\n${configCommand.usage}`));
  },
};

async function getConfig(ctx: CliContext): Promise<Result<void>> {
  const got = await ctx.admin.config();
  if (!got.ok) return got;
  if (ctx.json) ctx.out(JSON.stringify(got.value));
  else {
    ctx.note(`version ${got.value.version} (${got.value.status})`);
    ctx.out(JSON.stringify(got.value.config, null, 2));
  }
  return ok();
}

async function setConfig(ctx: CliContext, args: ParsedArgs, source: string | undefined): Promise<Result<void>> {
  if (source === undefined) return err(usage("config set needs a file, or - for stdin: sluice config set cluster.json --if-match 3"));
  const raw = stringFlag(args, "if-match");
  if (raw === undefined) return err(usage("config set needs --if-match <version> (see sluice config get): it only replaces the version you read"));
  const version = intFlag({ values: { "if-match": raw.replace(/^"|"$/g, "") }, positionals: [] }, "if-match", 0);
  if (!version.ok) return version;
  let text: string;
  try {
    text = source === "-" ? await readStdin() : readFileSync(source, "utf8");
  } catch (thrown) {
    return err(usage(`cannot read ${source}: ${thrown instanceof Error ? thrown.message : String(thrown)}`));
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (thrown) {
    return err(usage(`${source === "-" ? "stdin" : source} is not JSON: ${thrown instanceof Error ? thrown.message : String(thrown)}`));
  }
  // `sluice config get --json` output may be piped back: take its `config`.
  const body = isView(document) ? document.config : document;
  const put = await ctx.admin.putConfig(body, version.value!);
  if (!put.ok) return put;
  ctx.out(ctx.json ? JSON.stringify(put.value) : `config is now version ${put.value.version}`);
  return ok();
}

function isView(value: unknown): value is { version: number; config: unknown } {
  return typeof value === "object" && value !== null && "config" in value && "version" in value && "status" in value;
}
