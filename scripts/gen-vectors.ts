/**
 * Writes tests/vectors/protocol-v1.json: the published test vectors of wire protocol v1 (docs/PROTOCOL.md).
 * Run once when the protocol changes: `npx bun scripts/gen-vectors.ts`. tests/unit/vectors.test.ts checks every
 * value against this code AND against node:crypto, an independent SHA-256/HMAC implementation.
 */
import { writeFileSync } from "node:fs";
import { bytesToHex } from "@noble/hashes/utils.js";
import { challengePrefix, mintChallenge, signedBytes } from "../src/shared/pow/challenge.ts";
import { encodeCounter, solveReference, workDigest } from "../src/shared/pow/hashcash.ts";
import { KeyRing } from "../src/shared/pow/keys.ts";
import { encodeChallenge, encodeError, encodeOpen, encodeQuote, encodeSolution } from "../src/shared/protocol/messages.ts";

const secretText = "wisdom-protocol-v1-test-vector-secret";
const secret = new TextEncoder().encode(secretText);
const ring = new KeyRing([{ id: "test1", secret }]);
const nonce = Uint8Array.from({ length: 16 }, (_, i) => i);
const ch = mintChallenge(ring, { bits: 12, nowMs: 1_767_225_600_000, ttlMs: 60_000, addr: "203.0.113.7", nonce, windowMs: 5000 });
const prefix = challengePrefix(ch);
const counter = solveReference(prefix, ch.bits, 0, 1 << 24);
const counterHex = bytesToHex(encodeCounter(counter));
const solution = { challenge: ch, counter: counterHex };
const quote = { quote: "Know thyself.", author: "Socrates", source: "embedded" };
// The guard's extension: the counter above meets 12 bits; its digest has exactly this many leading zero bits.
const open = { effort: 12, queued_ms: 0, idle_timeout_ms: 300_000 };
const signed = signedBytes({ v: 1, alg: ch.alg, bits: ch.bits, iat: ch.iat, exp: ch.exp, nonce, addr: ch.addr, kid: ch.kid });

const vectors = {
  description: "wisdom protocol v1 test vectors; see docs/PROTOCOL.md",
  key: { id: "test1", secret_utf8: secretText },
  challenge_inputs: { bits: 12, iat: ch.iat, ttl_ms: 60_000, nonce_hex: bytesToHex(nonce), addr: ch.addr, window_ms: 5000 },
  signed_bytes_hex: bytesToHex(signed),
  mac_hex: ch.mac,
  challenge: ch,
  prefix_hex: bytesToHex(prefix),
  first_solution: { counter, counter_hex: counterHex, digest_hex: bytesToHex(workDigest(prefix, encodeCounter(counter))) },
  frames: {
    challenge_hex: bytesToHex(encodeChallenge(ch)),
    solution_hex: bytesToHex(encodeSolution(solution)),
    quote_hex: bytesToHex(encodeQuote(quote)),
    error_hex: bytesToHex(encodeError("REPLAY", "This challenge was already spent")),
    open_hex: bytesToHex(encodeOpen(open)),
    upstream_error_hex: bytesToHex(encodeError("UPSTREAM_UNAVAILABLE", "Cannot reach the guarded service: connection refused", 1000)),
  },
  quote,
  open,
};
writeFileSync(new URL("../tests/vectors/protocol-v1.json", import.meta.url), `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote vectors: counter ${counter}, mac ${ch.mac}`);
