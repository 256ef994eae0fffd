//! The committed vector files, checked both ways: regenerating them from the
//! code must reproduce every byte, and every vector must open from the JSON
//! alone through the production API (no deterministic hooks).

use std::path::PathBuf;

use sealsync_crypto::link::{LinkRequest, LinkSealed, LinkSecret, LinkSecretKey, PairingId, seal_to_new_device};
use sealsync_crypto::primitives::aead_open;
use sealsync_crypto::{
    AccountName, DataKey, KeyId, Passphrase, RootKey, SaltSeed, WrapContext, WrapKey, WrappedDataKey, accept_version,
    argon2id_salt, derive_root_key, unwrap_data_key,
};
use sealsync_envelope::padding::unpad;
use sealsync_envelope::{AccountId, Envelope, RecordSealer, merge::merge};
use sealsync_test_vectors::{
    EnvelopeFile, LinkVector, MergeVector, RootKeyVector, SubkeyVector, WrapVector, error_class, generate, hex,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("v1")
}

fn load<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    hex::decode(s).expect("hex").try_into().expect("length")
}

#[test]
fn regenerating_reproduces_every_committed_file() {
    let generated = generate();
    assert_eq!(generated.len(), 6);
    for (name, contents) in generated {
        let committed = std::fs::read_to_string(dir().join(name)).unwrap_or_default();
        assert!(
            committed == contents,
            "test-vectors/v1/{name} differs from the code; if the format changed on purpose, run \
             `cargo run -p sealsync-test-vectors` and update docs/PROTOCOL.md in the same commit"
        );
    }
}

#[test]
fn root_keys_derive_from_the_json() {
    let vectors: Vec<RootKeyVector> = load("root-key.json");
    assert!(!vectors.is_empty());
    for v in vectors {
        let version = accept_version(v.version, None).unwrap();
        let kdf = version.kdf_params();
        assert_eq!((kdf.m_kib, kdf.t, kdf.p), (v.kdf.m_kib, v.kdf.t, v.kdf.p));
        let passphrase = Passphrase::new(v.passphrase.clone()).unwrap();
        assert_eq!(hex(passphrase.expose_secret()), v.passphrase_nfc);
        let account = AccountName::parse(&v.account_name_input).unwrap();
        assert_eq!(account.as_str(), v.account_name);
        let seed = SaltSeed(unhex(&v.salt_seed));
        assert_eq!(hex(argon2id_salt(&seed, &account)), v.argon2id_salt);
        let root = derive_root_key(version, &Passphrase::new(v.passphrase.clone()).unwrap(), &seed, &account).unwrap();
        assert_eq!(hex(root.expose_secret()), v.root_key, "{}", v.comment);
    }
}

#[test]
fn subkeys_derive_from_the_json() {
    let vectors: Vec<SubkeyVector> = load("subkeys.json");
    assert!(!vectors.is_empty());
    for v in vectors {
        let root = RootKey::from_bytes(unhex(&v.root_key));
        assert_eq!(hex(root.auth_key().expose_secret()), v.auth_key);
        assert_eq!(hex(root.wrap_key().expose_secret()), v.wrap_key);
        let data = DataKey::from_bytes(unhex(&v.data_key));
        assert_eq!(hex(data.record_key().expose_secret()), v.record_key);
        assert_eq!(hex(data.key_id().as_bytes()), v.key_id);
    }
}

#[test]
fn wrapped_keys_unwrap_from_the_json() {
    let vectors: Vec<WrapVector> = load("wrap.json");
    assert!(!vectors.is_empty());
    for v in vectors {
        let version = accept_version(v.version, None).unwrap();
        let ctx = WrapContext::new(version, unhex(&v.account_id), KeyId(unhex(&v.key_id)));
        assert_eq!(hex(ctx.aad()), v.aad);
        let wrapped = WrappedDataKey::from_bytes(&hex::decode(&v.wrapped).unwrap()).unwrap();
        assert_eq!(hex(&wrapped.as_bytes()[..24]), v.nonce);
        let data_key = unwrap_data_key(&WrapKey::from_bytes(unhex(&v.wrap_key)), &wrapped, &ctx).unwrap();
        assert_eq!(hex(data_key.expose_secret()), v.data_key);
    }
}

#[test]
fn envelopes_decode_and_open_from_the_json() {
    let file: EnvelopeFile = load("envelope.json");
    assert!(!file.valid.is_empty());
    for v in &file.valid {
        let account_id = AccountId::from_bytes(unhex(&v.account_id));
        let data_key = DataKey::from_bytes(unhex(&v.data_key));
        assert_eq!(hex(data_key.record_key().expose_secret()), v.record_key);
        assert_eq!(hex(data_key.key_id().as_bytes()), v.key_id);

        let bytes = hex::decode(&v.envelope).unwrap();
        let envelope = Envelope::decode(&bytes).unwrap();
        assert_eq!(envelope.encode(), bytes, "canonical re-encoding");
        assert_eq!(hex(envelope.header.record_id.as_bytes()), v.record_id);
        assert_eq!(hex(envelope.header.device_id.as_bytes()), v.device_id);
        assert_eq!(envelope.header.device_seq.0, v.device_seq);
        assert_eq!(hex(envelope.nonce), v.nonce);
        assert_eq!(hex(&envelope.ciphertext), v.ciphertext);
        assert_eq!(hex(envelope.header.aad(&account_id)), v.aad);

        // The layers one at a time, with the bare AEAD...
        let mut plaintext = envelope.ciphertext.clone();
        let aad = hex::decode(&v.aad).unwrap();
        aead_open(&unhex(&v.record_key), &unhex(&v.nonce), &aad, &mut plaintext).unwrap();
        assert_eq!(hex(&plaintext), v.padded_plaintext);
        assert_eq!(hex(unpad(&plaintext).unwrap()), v.payload_cbor);

        // ...and all at once, as a client opens it.
        let payload = RecordSealer::new(account_id, &data_key).open(envelope).unwrap();
        assert_eq!(payload, v.payload.to_payload(), "{}", v.comment);
    }
}

#[test]
fn invalid_envelopes_are_refused_for_the_stated_reason() {
    let file: EnvelopeFile = load("envelope.json");
    assert!(file.invalid.len() >= 8);
    for v in &file.invalid {
        let error = Envelope::decode(&hex::decode(&v.envelope).unwrap()).unwrap_err();
        assert_eq!(error_class(&error), v.error, "{}", v.comment);
    }
}

#[test]
fn link_payload_opens_from_the_json() {
    let vectors: Vec<LinkVector> = load("link.json");
    assert!(!vectors.is_empty());
    for v in vectors {
        let request = LinkRequest::from_parts(
            LinkSecretKey::from_bytes(unhex(&v.new_device_secret_key)),
            PairingId(unhex(&v.pairing_id)),
            LinkSecret::from_bytes(unhex(&v.link_secret)),
        );
        assert_eq!(hex(request.public_key().0), v.new_device_public_key);
        assert_eq!(hex(request.code().fingerprint.0), v.fingerprint);
        assert_eq!(hex(request.code().to_bytes().as_slice()), v.link_code);

        let sealed = LinkSealed::from_bytes(&hex::decode(&v.sealed).unwrap()).unwrap();
        assert_eq!(hex(sealed.ephemeral_public.0), v.ephemeral_public_key);
        assert_eq!(hex(request.open(&sealed).unwrap().as_slice()), v.payload);

        // The production sealing path (fresh ephemeral key and nonce) also
        // reaches this request.
        let payload = hex::decode(&v.payload).unwrap();
        let fresh = seal_to_new_device(request.code(), &request.public_key(), &payload).unwrap();
        assert_ne!(fresh.ephemeral_public, sealed.ephemeral_public);
        assert_eq!(*request.open(&fresh).unwrap(), payload);
    }
}

#[test]
fn merge_winners_match_the_json_in_every_order() {
    let vectors: Vec<MergeVector> = load("merge.json");
    assert!(!vectors.is_empty());
    for v in vectors {
        let indices: Vec<usize> = (0..v.versions.len()).collect();
        for order in permutations(&indices) {
            let winner = order.iter().copied().reduce(|a, b| *merge(&a, &b, |&i| v.versions[i].key())).unwrap();
            assert_eq!(winner, v.winner, "{} (order {order:?})", v.comment);
        }
    }
}

fn permutations(items: &[usize]) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    (0..items.len())
        .flat_map(|i| {
            let mut rest = items.to_vec();
            let first = rest.remove(i);
            permutations(&rest).into_iter().map(move |mut p| {
                p.insert(0, first);
                p
            })
        })
        .collect()
}
