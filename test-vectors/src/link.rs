//! `link.json`: device linking (PROTOCOL.md §6). SPAKE2 is composed here
//! from the specification's formulas over Edwards25519 (curve25519-dalek,
//! not the `spake2` crate the product calls), with its random scalars taken
//! from fixed 64-byte strings; the key schedule from `K` on uses the HKDF
//! primitive and the AEAD crate. The tests run the `spake2` crate on the same
//! 64-byte strings and the production `sealsync_crypto::link` API on the
//! results, so the two readings check each other.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use sealsync_crypto::primitives::hkdf_sha256;

use crate::{counting, hex, xchacha_seal};

/// SPAKE2's `M` for Ed25519 (python-spake2's `ParamsEd25519.M`).
pub const SPAKE2_M: &str = "15cfd18e385952982b6a8f8c7854963b58e34388c8e6dae891db756481a02312";
/// SPAKE2's `N` for Ed25519 (python-spake2's `ParamsEd25519.N`).
pub const SPAKE2_N: &str = "f04f2e7eb734b2a8f8b472eaf9c3c632576ac64aea650b496a8a20ff00e583c3";

/// The whole `link.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkFile {
    /// Complete exchanges between a new device N and an approver A.
    pub exchanges: Vec<LinkVector>,
    /// Link codes as typed, and what they read as (or why not).
    pub codes: Vec<LinkCodeVector>,
}

/// One exchange, every intermediate value included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkVector {
    /// What the case shows.
    pub comment: String,
    /// The relay's pairing number.
    pub pairing: u32,
    /// The SPAKE2 password, 5 bytes (random in production).
    pub password: String,
    /// `dec6(pairing) "-" b32[0..4] "-" b32[4..8]`: what N shows.
    pub code: String,
    /// N's device id, 16 bytes.
    pub new_device_id: String,
    /// A's device id, 16 bytes.
    pub approver_device_id: String,
    /// `w`: `HKDF-SHA256["", "SPAKE2 pw"](password, 48)` read as a big-endian
    /// integer, mod `L`; 32 bytes little-endian.
    pub password_scalar: String,
    /// The 64 random bytes N's scalar comes from (random in production).
    pub x_random: String,
    /// `x = x_random` read little-endian, mod `L`; 32 bytes little-endian.
    pub x: String,
    /// `0x41 || enc(x·B + w·M)`.
    pub message_new: String,
    /// The 64 random bytes A's scalar comes from (random in production).
    pub y_random: String,
    /// `y`, as `x`.
    pub y: String,
    /// `0x42 || enc(y·B + w·N)`.
    pub message_approver: String,
    /// `enc(x·(Y − w·N)) = enc(y·(X − w·M))`.
    pub k_element: String,
    /// `K = SHA-256(SHA-256(password) || SHA-256(id_new) || SHA-256(id_approver) || enc(X) || enc(Y) || k_element)`.
    pub k: String,
    /// `t = u32(pairing) || new_device_id || approver_device_id`.
    pub transcript: String,
    /// `HKDF-SHA256["", "sealsync/v1/link/confirm-new" || t](K, 32)`.
    pub confirm_new: String,
    /// `HKDF-SHA256["", "sealsync/v1/link/confirm-approver" || t](K, 32)`.
    pub confirm_approver: String,
    /// `HKDF-SHA256["", "sealsync/v1/link/key" || t](K, 32)`.
    pub link_key: String,
    /// N's device name, as text.
    pub name: String,
    /// `"sealsync/v1/link/name" || t`.
    pub name_aad: String,
    /// Nonce (random in production).
    pub name_nonce: String,
    /// `nonce || XChaCha20-Poly1305[link_key](nonce, name_aad, UTF-8 name)`.
    pub sealed_name: String,
    /// The bundle (the client's; opaque at this layer).
    pub bundle: String,
    /// `"sealsync/v1/link/bundle" || t`.
    pub bundle_aad: String,
    /// Nonce (random in production).
    pub bundle_nonce: String,
    /// `nonce || XChaCha20-Poly1305[link_key](nonce, bundle_aad, bundle)`.
    pub sealed_bundle: String,
}

/// A link code as a user might type it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCodeVector {
    /// What the case shows.
    pub comment: String,
    /// The text typed.
    pub typed: String,
    /// Its pairing number, if it reads.
    pub pairing: Option<u32>,
    /// Its password, 5 bytes, if it reads.
    pub password: Option<String>,
    /// `"link_code_format"` if it does not read.
    pub error: Option<String>,
}

fn point(hex_text: &str) -> EdwardsPoint {
    let bytes: [u8; 32] = hex::decode(hex_text).expect("hex").try_into().expect("32 bytes");
    CompressedEdwardsY(bytes).decompress().expect("a point")
}

/// `w = int_be(HKDF-SHA256["", "SPAKE2 pw"](password, 48)) mod L`
fn password_scalar(password: &[u8]) -> Scalar {
    let mut okm = [0u8; 48];
    hkdf_sha256(b"", b"SPAKE2 pw", password, &mut okm).expect("48 bytes");
    let mut wide = [0u8; 64];
    for (i, byte) in okm.iter().enumerate() {
        wide[47 - i] = *byte;
    }
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// `HKDF-SHA256["", label || t](K, 32)`
fn from_k(k: &[u8; 32], label: &str, t: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf_sha256(b"", &[label.as_bytes(), t].concat(), k, &mut out).expect("32 bytes");
    out
}

/// Crockford base32 of 5 bytes: 8 symbols of 5 bits, most significant first.
fn base32(password: &[u8; 5]) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = password.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    (0..8).map(|i| char::from(ALPHABET[((bits >> (35 - 5 * i)) & 31) as usize])).collect()
}

struct Exchange {
    comment: &'static str,
    pairing: u32,
    password: [u8; 5],
    new_device_id: uuid::Uuid,
    approver_device_id: uuid::Uuid,
    x_random: [u8; 64],
    y_random: [u8; 64],
    name: &'static str,
    bundle: &'static [u8],
    nonces: ([u8; 24], [u8; 24]),
}

fn exchange(e: Exchange) -> LinkVector {
    let (b, m, n) = (ED25519_BASEPOINT_POINT, point(SPAKE2_M), point(SPAKE2_N));
    let w = password_scalar(&e.password);
    let x = Scalar::from_bytes_mod_order_wide(&e.x_random);
    let y = Scalar::from_bytes_mod_order_wide(&e.y_random);
    let big_x = (x * b + w * m).compress().to_bytes();
    let big_y = (y * b + w * n).compress().to_bytes();
    let k_new = x * (point(&hex(big_y)) - w * n);
    let k_approver = y * (point(&hex(big_x)) - w * m);
    assert_eq!(k_new, k_approver, "both sides of SPAKE2 reach one element");
    let k_element = k_new.compress().to_bytes();
    let k = sha256(
        &[
            &sha256(&e.password)[..],
            &sha256(b"sealsync/v1/link/new"),
            &sha256(b"sealsync/v1/link/approver"),
            &big_x,
            &big_y,
            &k_element,
        ]
        .concat(),
    );

    let (new_id, approver_id) = (*e.new_device_id.as_bytes(), *e.approver_device_id.as_bytes());
    let t = [&e.pairing.to_be_bytes()[..], &new_id, &approver_id].concat();
    let link_key = from_k(&k, "sealsync/v1/link/key", &t);
    let name_aad = [b"sealsync/v1/link/name".as_slice(), &t].concat();
    let bundle_aad = [b"sealsync/v1/link/bundle".as_slice(), &t].concat();
    let (name_nonce, bundle_nonce) = e.nonces;
    let sealed_name = [&name_nonce[..], &xchacha_seal(&link_key, &name_nonce, &name_aad, e.name.as_bytes())].concat();
    let sealed_bundle = [&bundle_nonce[..], &xchacha_seal(&link_key, &bundle_nonce, &bundle_aad, e.bundle)].concat();
    let b32 = base32(&e.password);
    LinkVector {
        comment: e.comment.into(),
        pairing: e.pairing,
        password: hex(e.password),
        code: format!("{:06}-{}-{}", e.pairing, &b32[..4], &b32[4..]),
        new_device_id: hex(new_id),
        approver_device_id: hex(approver_id),
        password_scalar: hex(w.to_bytes()),
        x_random: hex(e.x_random),
        x: hex(x.to_bytes()),
        message_new: hex([&[0x41][..], &big_x].concat()),
        y_random: hex(e.y_random),
        y: hex(y.to_bytes()),
        message_approver: hex([&[0x42][..], &big_y].concat()),
        k_element: hex(k_element),
        k: hex(k),
        transcript: hex(&t),
        confirm_new: hex(from_k(&k, "sealsync/v1/link/confirm-new", &t)),
        confirm_approver: hex(from_k(&k, "sealsync/v1/link/confirm-approver", &t)),
        link_key: hex(link_key),
        name: e.name.into(),
        name_aad: hex(&name_aad),
        name_nonce: hex(name_nonce),
        sealed_name: hex(&sealed_name),
        bundle: hex(e.bundle),
        bundle_aad: hex(&bundle_aad),
        bundle_nonce: hex(bundle_nonce),
        sealed_bundle: hex(&sealed_bundle),
    }
}

fn uuid(text: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(text).expect("a UUID")
}

/// Two exchanges and a handful of typed codes.
pub fn link_file() -> LinkFile {
    let exchanges = vec![
        exchange(Exchange {
            comment: "a pairing number with leading zeros; an ASCII name",
            pairing: 4217,
            password: counting(0x5a),
            new_device_id: uuid("0f8fad5b-d9cb-469f-a165-70867728950e"),
            approver_device_id: uuid("7c9e6679-7425-40de-944b-e07fc1f90ae7"),
            x_random: counting(0x10),
            y_random: counting(0x80),
            name: "Sam's phone",
            bundle: b"the client's bundle: account id, key ids and data keys (opaque to the link layer)",
            nonces: (counting(0x30), counting(0x48)),
        }),
        exchange(Exchange {
            comment: "the largest pairing number; a name with non-ASCII characters",
            pairing: 999_999,
            password: [0xff, 0x00, 0x7f, 0x80, 0x01],
            new_device_id: uuid("9a1c5e8e-3f0b-4d6a-8e2f-5b7c9d0e1f23"),
            approver_device_id: uuid("c2d4e6f8-1a3b-4c5d-9e7f-0a1b2c3d4e5f"),
            x_random: [0xff; 64],
            y_random: counting(0x01),
            name: "Küche — iPad 🍎",
            bundle: &[0x00; 48],
            nonces: (counting(0x60), counting(0x78)),
        }),
    ];
    let first = &exchanges[0];
    let sloppy = first.code.to_lowercase().replace('-', " ").replace('0', "o").replace('1', "l");
    let read = |comment: &str, typed: String, pairing: u32, password: &str| LinkCodeVector {
        comment: comment.into(),
        typed,
        pairing: Some(pairing),
        password: Some(password.into()),
        error: None,
    };
    let refused = |comment: &str, typed: &str| LinkCodeVector {
        comment: comment.into(),
        typed: typed.into(),
        pairing: None,
        password: None,
        error: Some("link_code_format".into()),
    };
    let codes = vec![
        read("as shown", first.code.clone(), first.pairing, &first.password),
        read("lower case, spaces for hyphens, O for 0 and L for 1", sloppy, first.pairing, &first.password),
        read("no separators at all", first.code.replace('-', ""), first.pairing, &first.password),
        read("the second exchange's code", exchanges[1].code.clone(), exchanges[1].pairing, &exchanges[1].password),
        read(
            "the second code with o for 0 and i for 1 among the letters",
            exchanges[1].code.to_lowercase().replace('0', "o").replace('1', "i"),
            exchanges[1].pairing,
            &exchanges[1].password,
        ),
        refused("a character short", &first.code[..first.code.len() - 1]),
        refused("a character too many", &format!("{}0", first.code)),
        refused("U is not in Crockford's alphabet", &format!("{}U", &first.code[..first.code.len() - 1])),
        refused("a letter in the pairing number", &format!("00421A{}", &first.code[6..])),
    ];
    LinkFile { exchanges, codes }
}
