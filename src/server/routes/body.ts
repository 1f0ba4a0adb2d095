import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";

/**
 * Reads a request body into memory with a byte limit, stopping as soon as the limit is passed
 * (a chunked body has no Content-Length to check up front), so one request cannot make the
 * server buffer without bound.
 *
 * @example
 * ```ts
 * const body = await readBodyLimited(c.req.raw, 1 << 20);
 * if (!body.ok) return errorResponse(c, body.error); // frame.too_large → 413
 * ```
 */
export async function readBodyLimited(request: Request, limit: number): Promise<Result<Uint8Array>> {
  const tooLarge = (size: number | string) =>
    err(sluiceError("frame.too_large", `request body of ${size} bytes exceeds the limit of ${limit}`, { metadata: { limit } }));
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > limit) return tooLarge(declared);
  if (request.body === null) return ok(new Uint8Array(0));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      size += next.value.byteLength;
      if (size > limit) {
        void reader.cancel().catch(() => {});
        return tooLarge(`more than ${limit}`);
      }
      chunks.push(next.value);
    }
  } catch (thrown) {
    return err("canceled", `request body could not be read: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
  if (chunks.length === 1) return ok(chunks[0]!);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return ok(out);
}

/**
 * Reads a JSON request body within `limit` bytes (past it: `frame.too_large`, 413, without
 * reading the rest) and parses it; an empty, non-UTF-8 or non-JSON body is `validation` (400).
 * Each JSON route passes its own limit.
 *
 * @example
 * ```ts
 * const body = await readJsonBody(c.req.raw, 64 * 1024);
 * if (!body.ok) return errorResponse(c, body.error);
 * const value: unknown = body.value;
 * ```
 */
export async function readJsonBody(request: Request, limit: number): Promise<Result<unknown>> {
  const bytes = await readBodyLimited(request, limit);
  if (!bytes.ok) return bytes;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.value);
  } catch {
    return err("validation", "the request body is not UTF-8 text");
  }
  if (text.trim() === "") return err("validation", "the request body is empty; a JSON body is required");
  try {
    return ok(JSON.parse(text) as unknown);
  } catch (thrown) {
    return err("validation", `the request body is not JSON: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
}
