/**
 * `node:url` for the bundle's start-up modules: `fileURLToPath`, ported from the node:url of the
 * pinned Deno (Node.js's getPathFromURLPosix), with the same checks and the same error codes.
 */

function invalid(code: string, message: string): TypeError {
  return Object.assign(new TypeError(message), { code });
}

export function fileURLToPath(path: string | URL): string {
  if (typeof path === "string") path = new URL(path);
  else if (!(path instanceof URL)) {
    throw invalid("ERR_INVALID_ARG_TYPE", 'The "path" argument must be of type string or URL');
  }
  if (path.protocol !== "file:") {
    throw invalid("ERR_INVALID_URL_SCHEME", "The URL must be of scheme file");
  }
  if (path.hostname !== "") {
    throw invalid(
      "ERR_INVALID_FILE_URL_HOST",
      `File URL host must be "localhost" or empty on linux`,
    );
  }
  const pathname = path.pathname;
  for (let n = 0; n < pathname.length; n++) {
    // an encoded "/" (%2F or %2f) would decode into a separator the URL did not have
    if (
      pathname[n] === "%" && pathname[n + 1] === "2" &&
      ((pathname.codePointAt(n + 2) ?? 0) | 0x20) === 102
    ) {
      throw invalid(
        "ERR_INVALID_FILE_URL_PATH",
        "File URL path must not include encoded / characters",
      );
    }
  }
  return decodeURIComponent(pathname);
}
