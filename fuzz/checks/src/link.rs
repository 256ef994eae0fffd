//! The device-linking messages (PROTOCOL.md §6): the link code as typed, the
//! relayed SPAKE2 messages, and the name and bundle sealed under the link key.

use std::sync::OnceLock;

use sealsync_crypto::Error;
use sealsync_crypto::link::{LinkCode, LinkKeys, LinkMessage, PairingNumber, SpakeKey, Transcript};

/// The keys and sealed bundle of `test-vectors/v1/link.json`'s exchange.
struct Vector {
    keys: LinkKeys,
    sealed_bundle: Vec<u8>,
    bundle: Vec<u8>,
    sealed_name: Vec<u8>,
}

fn vector() -> &'static Vector {
    static VECTOR: OnceLock<Vector> = OnceLock::new();
    VECTOR.get_or_init(|| {
        let json: serde_json::Value =
            serde_json::from_str(include_str!("../../../test-vectors/v1/link.json")).expect("link.json is JSON");
        let e = &json["exchanges"][0];
        let hex = |name: &str| hex::decode(e[name].as_str().expect("a hex member")).expect("hex");
        let transcript = Transcript {
            pairing: PairingNumber::new(e["pairing"].as_u64().expect("a number") as u32).expect("6 digits"),
            new_device_id: hex("new_device_id").try_into().expect("16 bytes"),
            approver_device_id: hex("approver_device_id").try_into().expect("16 bytes"),
        };
        let keys = LinkKeys::derive(&SpakeKey::try_from_slice(&hex("k")).expect("32 bytes"), transcript);
        Vector { keys, sealed_bundle: hex("sealed_bundle"), bundle: hex("bundle"), sealed_name: hex("sealed_name") }
    })
}

/// - A code that parses prints as 16 characters that parse to the same code;
///   anything else is refused as a format error, never a panic.
/// - `LinkMessage::from_bytes` accepts exactly 33 bytes and gives them back.
pub fn check_link(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        match LinkCode::parse(text) {
            Ok(code) => {
                let shown = code.to_text();
                assert_eq!(shown.len(), 16, "{}", shown.as_str());
                let again = LinkCode::parse(&shown).expect("a shown code parses");
                assert_eq!((again.pairing(), again.password()), (code.pairing(), code.password()));
            }
            Err(error) => assert!(matches!(error, Error::LinkCodeFormat), "{error:?}"),
        }
    }
    match LinkMessage::from_bytes(data) {
        Ok(message) => assert_eq!(&message.as_bytes()[..], data),
        Err(error) => {
            assert_ne!(data.len(), LinkMessage::LEN);
            assert!(matches!(error, Error::Length { .. }), "{error:?}");
        }
    }
}

/// The vector's link key opens only the vector's own sealed bundle (to its
/// bundle) and sealed name; every other input fails without panicking.
pub fn check_link_open(data: &[u8]) {
    let vector = vector();
    match vector.keys.open_bundle(data) {
        Ok(bundle) => {
            assert_eq!(data, vector.sealed_bundle, "opened a forged bundle");
            assert_eq!(*bundle, vector.bundle);
        }
        Err(error) => {
            assert_ne!(data, vector.sealed_bundle, "the vector's bundle does not open: {error:?}");
            assert!(matches!(error, Error::Decrypt | Error::Length { .. } | Error::LinkMessage), "{error:?}");
        }
    }
    if vector.keys.open_name(data).is_ok() {
        assert_eq!(data, vector.sealed_name, "opened a forged name");
    }
}
