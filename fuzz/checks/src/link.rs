//! The device-linking messages (PROTOCOL.md §6): the sealed payload relayed
//! to the new device and the link code shown to the user.

use std::sync::OnceLock;

use sealsync_crypto::Error;
use sealsync_crypto::link::{LinkCode, LinkRequest, LinkSealed, LinkSecret, LinkSecretKey, PairingId};

/// The new device of `test-vectors/v1/link.json`, and what it was sent.
struct Vector {
    request: LinkRequest,
    sealed: Vec<u8>,
    payload: Vec<u8>,
}

fn vector() -> &'static Vector {
    static VECTOR: OnceLock<Vector> = OnceLock::new();
    VECTOR.get_or_init(|| {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../../test-vectors/v1/link.json")).expect("link.json is JSON");
        let hex = |name: &str| hex::decode(json[0][name].as_str().expect("a hex member")).expect("hex");
        let request = LinkRequest::from_parts(
            LinkSecretKey::try_from_slice(&hex("new_device_secret_key")).expect("32 bytes"),
            PairingId(hex("pairing_id").try_into().expect("16 bytes")),
            LinkSecret::try_from_slice(&hex("link_secret")).expect("16 bytes"),
        );
        assert_eq!(&request.code().to_bytes()[..], hex("link_code"), "link.json's code");
        Vector { request, sealed: hex("sealed"), payload: hex("payload") }
    })
}

/// - `LinkSealed::from_bytes` accepts exactly the lengths from
///   `32 + 24 + 16` to `LinkSealed::MAX_LEN` and gives back the same bytes;
/// - `LinkCode::from_bytes` accepts exactly 48 bytes and gives them back.
pub fn check_link(data: &[u8]) {
    sealed(data);
    match LinkCode::from_bytes(data) {
        Ok(code) => {
            assert_eq!(data.len(), LinkCode::LEN);
            assert_eq!(&code.to_bytes()[..], data);
        }
        Err(error) => {
            assert_ne!(data.len(), LinkCode::LEN, "{error:?}");
            assert!(matches!(error, Error::Length { .. }), "{error:?}");
        }
    }
}

/// What [`check_link`] checks of `LinkSealed::from_bytes`; then the vector's
/// new device opens whatever parses, and opens only the vector's own sealed
/// bytes (to its payload): every other input fails (a forgery, a changed key,
/// nonce or tag, a low-order ephemeral key) without panicking. A target of
/// its own because each input costs an X25519 scalar multiplication, a
/// thousand times the parsing.
pub fn check_link_open(data: &[u8]) {
    let Some(sealed) = sealed(data) else { return };
    let vector = vector();
    match vector.request.open(&sealed) {
        Ok(payload) => {
            assert_eq!(data, vector.sealed, "opened a forgery");
            assert_eq!(*payload, vector.payload);
        }
        Err(error) => {
            assert_ne!(data, vector.sealed, "the vector does not open: {error:?}");
            assert!(matches!(error, Error::Decrypt | Error::LowOrderPoint), "{error:?}");
        }
    }
}

fn sealed(data: &[u8]) -> Option<LinkSealed> {
    let in_bounds = (32 + 24 + 16..=LinkSealed::MAX_LEN).contains(&data.len());
    match LinkSealed::from_bytes(data) {
        Ok(sealed) => {
            assert!(in_bounds, "accepted {} bytes", data.len());
            assert_eq!(sealed.to_bytes(), data);
            Some(sealed)
        }
        Err(error) => {
            assert!(!in_bounds, "refused {} bytes: {error:?}", data.len());
            assert!(matches!(error, Error::Length { .. }), "{error:?}");
            None
        }
    }
}
