//! Ecwid's webhook signature: base64(HMAC-SHA256(client secret, "{eventCreated}.{eventId}")),
//! made in one place ([`sign`]) and checked in another ([`check`]) with the same message.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::Rejection;

/// The header that carries a delivery's signature, `X-Ecwid-Webhook-Signature`.
pub const SIGNATURE_HEADER: HeaderName = HeaderName::from_static("x-ecwid-webhook-signature");

type HmacSha256 = Hmac<Sha256>;

/// The length of an HMAC-SHA256, in bytes.
const SIGNATURE_LEN: usize = 32;

/// The signature Ecwid sends with an event, as the `X-Ecwid-Webhook-Signature` header's value:
/// the standard base64 (with padding) of HMAC-SHA256 keyed with the app's client secret over
/// `"{event_created}.{event_id}"`.
///
/// It is the exact inverse of the check in [`Verifier::verify`](super::Verifier::verify): a
/// delivery whose header is `sign(secret, created, id)` and whose body holds
/// `"eventCreated": created` and `"eventId": id` passes the signature check of a verifier built
/// with the same secret. For tests and for fake stores that deliver webhooks; a receiver never
/// needs it.
///
/// ```
/// use ecwid_inventory::webhooks::{sign, SecretString};
///
/// let secret = SecretString::from("client-secret");
/// let signature = sign(&secret, 1234567, "abc");
/// assert_eq!(signature.len(), 44); // 32 bytes in base64
/// assert_eq!(signature, sign(&secret, 1234567, "abc"));
/// assert_ne!(signature, sign(&secret, 1234568, "abc"));
/// ```
pub fn sign(client_secret: &SecretString, event_created: i64, event_id: &str) -> String {
    BASE64.encode(
        mac(client_secret, event_created, event_id)
            .finalize()
            .into_bytes(),
    )
}

/// The MAC over the signed message, ready to finalize or to verify.
fn mac(client_secret: &SecretString, event_created: i64, event_id: &str) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(client_secret.expose_secret().as_bytes())
        .expect("HMAC takes a key of any length");
    // The message is the decimal eventCreated, a dot and the eventId, as Ecwid builds it.
    mac.update(event_created.to_string().as_bytes());
    mac.update(b".");
    mac.update(event_id.as_bytes());
    mac
}

/// A signature header's decoded value: well-formed, not yet checked.
pub(super) struct Signature([u8; SIGNATURE_LEN]);

/// The one signature header of a delivery, decoded. Fails closed: absent, empty, repeated, not
/// base64 or not 32 bytes is a rejection.
pub(super) fn from_headers(headers: &HeaderMap) -> Result<Signature, Rejection> {
    let mut values = headers.get_all(&SIGNATURE_HEADER).iter();
    let value = values.next().ok_or(Rejection::MissingSignature)?;
    if values.next().is_some() {
        return Err(Rejection::RepeatedSignature);
    }
    let text = value.as_bytes();
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::EmptySignature);
    }
    let bytes = BASE64
        .decode(text)
        .map_err(|_| Rejection::MalformedSignature)?;
    let bytes = bytes
        .try_into()
        .map_err(|_| Rejection::MalformedSignature)?;
    Ok(Signature(bytes))
}

/// Checks `signature` against the event's `eventCreated` and `eventId`, in constant time.
pub(super) fn check(
    client_secret: &SecretString,
    event_created: i64,
    event_id: &str,
    signature: &Signature,
) -> Result<(), Rejection> {
    mac(client_secret, event_created, event_id)
        .verify_slice(&signature.0)
        .map_err(|_| Rejection::BadSignature)
}
