/** A password for a new account or a reset, generated in the browser and shown once. */
const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

export function generatePassword(length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length * 2));
  let out = "";
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 57).
  const limit = 256 - (256 % ALPHABET.length);
  for (const byte of bytes) {
    if (out.length === length) break;
    if (byte < limit) out += ALPHABET[byte % ALPHABET.length];
  }
  return out.length === length ? out : generatePassword(length);
}
