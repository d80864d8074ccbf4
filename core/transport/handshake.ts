/**
 * The handshake that opens a Channel (docs/protocol.md#handshake):
 *
 *   host → HELLO {v, nonce, eph, key}
 *   agent → CHALLENGE {v, nonce, eph, agentKey?, agentSig?}
 *   host → AUTH {sig = Ed25519(host key, "nx-host-v1" ‖ SHA-256(HELLO body ‖ CHALLENGE body))}
 *   agent → WELCOME {session} | REFUSE {code, message, …}, then close
 *
 * The session keys come from kex.ts (WebCrypto X25519 + HKDF-SHA-256); Ed25519 is core/trust's
 * strict signer and verifier.
 */
import { NxError } from "../errors.ts";
import { errorFromValue, errorValue } from "../api/mod.ts";
import { fingerprint, type KeyPair, sign, verifyStrict } from "../trust/mod.ts";
import { type ByteStream, Channel } from "./channel.ts";
import { type Bytes, encodePlainFrame, type Frame, FrameType, frameTypeName } from "./frame.ts";
import { FrameReader } from "./frame_reader.ts";
import { concat, sessionKeys, sha256, x25519Ephemeral, x25519Shared } from "./kex.ts";
import { equalBytes, type KnownAgents } from "./known_agents.ts";
import {
  AuthSchema,
  type Challenge,
  ChallengeSchema,
  encodeJson,
  fromBase64,
  HelloSchema,
  NONCE_SIZE,
  parseBody,
  parseVersioned,
  RefuseSchema,
  toBase64,
  WelcomeSchema,
} from "./messages.ts";

export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a refusing agent keeps reading (and dropping) input so its REFUSE is not reset away. */
export const REFUSE_LINGER_MS = 500;

const text = (s: string) => new TextEncoder().encode(s);
const HOST_CONTEXT = text("nx-host-v1");
const AGENT_CONTEXT = text("nx-agent-v1");

/** What the agent's host key signs: everything of the transcript up to its own signature. */
function agentSigned(
  hello: Uint8Array,
  c: { nonce: Uint8Array; eph: Uint8Array; key: Uint8Array },
) {
  return sha256(hello, c.nonce, c.eph, c.key).then((h) => concat(AGENT_CONTEXT, h));
}

// ---- the two sides ----

export interface ConnectOptions {
  identity: KeyPair;
  /** The target as the user named it: the known_agents key. */
  target: string;
  /** Pinned agent host keys; without it any agent key (or none) is accepted. */
  knownAgents?: KnownAgents;
  timeoutMs?: number;
}

export interface AcceptOptions {
  /** The host keys allowed to connect (Ed25519 public keys). */
  authorized: Uint8Array[];
  /** The agent's own key, proving to hosts who they talk to (known_agents). */
  hostKey?: KeyPair;
  timeoutMs?: number;
}

/** Host side. On failure the stream is closed and the error thrown (an agent's REFUSE as is). */
export async function connectHandshake(stream: ByteStream, o: ConnectOptions): Promise<Channel> {
  const io = new HandshakeIo(stream, o.timeoutMs);
  try {
    const eph = await x25519Ephemeral();
    const hello = encodeJson({
      v: 1,
      nonce: toBase64(random(NONCE_SIZE)),
      eph: toBase64(eph.publicKey),
      key: toBase64(o.identity.publicKey),
    });
    await io.write(FrameType.HELLO, hello);
    const reply = await io.read("the agent's CHALLENGE", FrameType.CHALLENGE);
    const challenge: Challenge = parseVersioned(ChallengeSchema, reply.body, "CHALLENGE");
    const agentEph = fromBase64(challenge.eph);
    const agentKey = challenge.agentKey === undefined ? undefined : fromBase64(challenge.agentKey);
    if (agentKey) {
      const signed = await agentSigned(hello, {
        nonce: fromBase64(challenge.nonce),
        eph: agentEph,
        key: agentKey,
      });
      // trust: the agent proves it holds its host key for this HELLO and its fresh ephemeral key
      if (!verifyStrict(fromBase64(challenge.agentSig!), signed, agentKey)) {
        throw new NxError(
          "transport.unauthenticated",
          "cannot finish handshake: the agent's host key signature does not verify",
        );
      }
    }
    checkPinned(o, agentKey);
    const th = await sha256(hello, reply.body);
    const keys = await sessionKeys(await x25519Shared(eph.privateKey, agentEph), th);
    const sig = sign(concat(HOST_CONTEXT, th), o.identity.seed);
    await io.write(FrameType.AUTH, encodeJson({ sig: toBase64(sig) }));
    const welcome = parseBody(
      WelcomeSchema,
      (await io.read("the agent's WELCOME", FrameType.WELCOME)).body,
      "WELCOME",
    );
    if (agentKey && o.knownAgents && o.knownAgents.lookup(o.target).length === 0) {
      await o.knownAgents.record(o.target, agentKey); // accept-new, once the session is open
    }
    return await io.channel({
      role: "host",
      sendKey: keys.hostToAgent,
      receiveKey: keys.agentToHost,
      peerKey: agentKey,
      session: welcome.session,
    });
  } catch (e) {
    io.abandon();
    throw e;
  }
}

function checkPinned(o: ConnectOptions, agentKey: Uint8Array | undefined): void {
  const pinned = o.knownAgents?.lookup(o.target) ?? [];
  if (pinned.length === 0) return;
  // trust: a pinned target must present one of its pinned keys (no key at all is a mismatch)
  if (agentKey && pinned.some((k) => equalBytes(k, agentKey))) return;
  throw new NxError(
    "transport.agent_key_mismatch",
    `cannot trust agent ${o.target}: its host key ${
      agentKey ? fingerprint(agentKey) : "(none)"
    } is not the one pinned in known_agents`,
    {
      details: {
        target: o.target,
        pinned: pinned.map(fingerprint),
        presented: agentKey ? fingerprint(agentKey) : null,
      },
      hint: "if the agent's key was changed on purpose, delete its line from known_agents",
    },
  );
}

/**
 * Agent side. The CHALLENGE is sent whether or not the host key is authorised (no oracle); the
 * verdict comes after AUTH. On failure the agent sends REFUSE with the error when it can, closes
 * the stream and throws the error.
 */
export async function acceptHandshake(stream: ByteStream, o: AcceptOptions): Promise<Channel> {
  const io = new HandshakeIo(stream, o.timeoutMs);
  try {
    const first = await io.read("the host's HELLO", FrameType.HELLO);
    const hello = parseVersioned(HelloSchema, first.body, "HELLO");
    const hostKey = fromBase64(hello.key);
    const eph = await x25519Ephemeral();
    const nonce = random(NONCE_SIZE);
    const challenge: Record<string, unknown> = {
      v: 1,
      nonce: toBase64(nonce),
      eph: toBase64(eph.publicKey),
    };
    if (o.hostKey) {
      const signed = await agentSigned(first.body, {
        nonce,
        eph: eph.publicKey,
        key: o.hostKey.publicKey,
      });
      challenge.agentKey = toBase64(o.hostKey.publicKey);
      challenge.agentSig = toBase64(sign(signed, o.hostKey.seed));
    }
    const challengeBody = encodeJson(challenge);
    await io.write(FrameType.CHALLENGE, challengeBody);
    const auth = parseBody(
      AuthSchema,
      (await io.read("the host's AUTH", FrameType.AUTH)).body,
      "AUTH",
    );
    const th = await sha256(first.body, challengeBody);
    const authorised = o.authorized.some((k) => equalBytes(k, hostKey));
    // trust: the host signs this session's transcript (the fresh agent nonce and ephemeral key
    // in it make a recorded AUTH useless) with a key on the authorised list
    const signed = verifyStrict(fromBase64(auth.sig), concat(HOST_CONTEXT, th), hostKey);
    if (!authorised || !signed) {
      throw new NxError(
        "transport.unauthenticated",
        `cannot accept host: ${
          authorised ? "its signature does not verify" : "its key is not authorised"
        }`,
        { details: { key: fingerprint(hostKey) } },
      );
    }
    const keys = await sessionKeys(await x25519Shared(eph.privateKey, fromBase64(hello.eph)), th);
    const session = Array.from(random(16), (b) => b.toString(16).padStart(2, "0")).join("");
    await io.write(FrameType.WELCOME, encodeJson({ session }));
    return await io.channel({
      role: "agent",
      sendKey: keys.agentToHost,
      receiveKey: keys.hostToAgent,
      peerKey: hostKey,
      session,
    });
  } catch (e) {
    await io.refuse(e);
    throw e;
  }
}

/** Refuses a connection before any handshake (e.g. agent.busy): REFUSE, linger, close. */
export async function refuseConnection(
  stream: ByteStream,
  error: unknown,
  lingerMs = REFUSE_LINGER_MS,
): Promise<void> {
  await new HandshakeIo(stream, lingerMs * 2).refuse(error, lingerMs);
}

function random(n: number): Bytes {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** Frame I/O under one deadline for the whole handshake. */
class HandshakeIo {
  readonly #stream: ByteStream;
  readonly #reader: FrameReader;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #timeoutMs: number;
  readonly #deadline: number;

  constructor(stream: ByteStream, timeoutMs = HANDSHAKE_TIMEOUT_MS) {
    this.#stream = stream;
    this.#reader = new FrameReader(stream.readable);
    this.#writer = stream.writable.getWriter();
    this.#timeoutMs = timeoutMs;
    this.#deadline = Date.now() + timeoutMs;
  }

  #timeout(): NxError {
    return new NxError(
      "transport.timeout",
      `cannot finish handshake: no answer within ${this.#timeoutMs} ms`,
      { details: { timeoutMs: this.#timeoutMs } },
    );
  }

  #left(): number {
    const left = this.#deadline - Date.now();
    if (left <= 0) throw this.#timeout();
    return left;
  }

  async write(type: FrameType, body: Uint8Array): Promise<void> {
    const left = this.#left();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.#timeout()), left);
    });
    try {
      await Promise.race([this.#writer.write(encodePlainFrame(type, body)), late]);
    } catch (e) {
      if (e instanceof NxError) throw e;
      throw new NxError("transport.closed", "cannot finish handshake: the connection closed", {
        cause: e,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next frame, which must be `want`; a REFUSE from the agent becomes its error. */
  async read(what: string, want: FrameType): Promise<Frame> {
    let frame: Frame | null;
    try {
      frame = await this.#reader.next(this.#left());
    } catch (e) {
      if (e instanceof NxError && e.code === "transport.timeout") throw this.#timeout();
      throw e;
    }
    if (frame === null) {
      throw new NxError(
        "transport.closed",
        `cannot finish handshake: the connection closed before ${what}`,
      );
    }
    if (frame.type === want) return frame;
    if (frame.type === FrameType.REFUSE && want !== FrameType.HELLO && want !== FrameType.AUTH) {
      throw errorFromValue(parseBody(RefuseSchema, frame.body, "REFUSE"));
    }
    throw new NxError(
      "transport.bad_frame",
      `cannot finish handshake: expected ${what}, got a ${frameTypeName(frame.type)} frame`,
    );
  }

  channel(
    keys: Omit<Parameters<typeof Channel.open>[0], "stream" | "reader" | "writer">,
  ): Promise<Channel> {
    return Channel.open({
      ...keys,
      stream: this.#stream,
      reader: this.#reader,
      writer: this.#writer,
    });
  }

  /** Host side failure: just close. */
  abandon(): void {
    this.#reader.cancel();
    this.#close();
  }

  /**
   * Agent side failure: REFUSE with the error (best effort, bounded), then read and drop input
   * until the peer closes or `lingerMs` passes, so closing with unread input does not reset the
   * connection before the REFUSE is read, then close.
   */
  async refuse(error: unknown, lingerMs = REFUSE_LINGER_MS): Promise<void> {
    const body = encodeJson(errorValue(error));
    try {
      await withTimer(this.#writer.write(encodePlainFrame(FrameType.REFUSE, body)), lingerMs);
      await this.#reader.discard(lingerMs);
    } catch { /* the peer is gone: nothing to tell */ }
    this.abandon();
  }

  #close(): void {
    try {
      this.#writer.releaseLock();
    } catch { /* released */ }
    try {
      this.#stream.close();
    } catch { /* closed */ }
  }
}

/** `p`, or after `ms` an undefined (the write is left to fail when the stream closes). */
async function withTimer(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([p, new Promise<void>((resolve) => timer = setTimeout(resolve, ms))]);
  } finally {
    clearTimeout(timer);
  }
}
