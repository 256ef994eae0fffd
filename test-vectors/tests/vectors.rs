//! The committed vector files, checked both ways: regenerating them from the
//! code must reproduce every byte, and every vector must open from the JSON
//! alone through the production API (no deterministic hooks).

use std::path::PathBuf;

use sealsync_crypto::link::{ApproverLink, LinkCode, LinkKeys, LinkMessage, SpakeKey, Transcript};
use sealsync_crypto::primitives::aead_open;
use sealsync_crypto::{
    AccountName, DataKey, KeyId, Passphrase, RootKey, SaltSeed, WrapContext, WrapKey, WrappedDataKey, accept_version,
    argon2id_salt, derive_root_key, unwrap_data_key,
};
use sealsync_envelope::hlc::ClockError;
use sealsync_envelope::padding::unpad;
use sealsync_envelope::{AccountId, Clock, Envelope, Hlc, RecordBody, RecordSealer, UnixMillis, Version, merge::merge};
use sealsync_test_vectors::records::{MergeVector, RecordBodyVector, VersionVector, lost_vector, stamp_vectors};
use sealsync_test_vectors::{
    AccountsFile, DeviceNameVector, EnvelopeFile, HlcVector, LinkFile, RootKeyVector, SPAKE2_M, SPAKE2_N, SubkeyVector,
    WrapVector, generate, hex, open_error_class,
};

const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");

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
    assert_eq!(generated.len(), 12);
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
    assert!(file.invalid.len() >= 40);
    for class in ["too_large", "truncated", "malformed", "not_canonical", "unexpected_item", "invalid_field"] {
        assert!(file.invalid.iter().any(|v| v.error == class), "no invalid case of class {class}");
    }
    for v in &file.invalid {
        let error = Envelope::decode(&hex::decode(&v.envelope).unwrap()).unwrap_err();
        assert_eq!(error.class(), v.error, "{}: {error}", v.comment);
    }
}

#[test]
fn decodable_envelopes_decode_from_the_json() {
    let file: EnvelopeFile = load("envelope.json");
    assert!(!file.decodes.is_empty());
    for v in &file.decodes {
        let bytes = hex::decode(&v.envelope).unwrap();
        let envelope = Envelope::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", v.comment));
        assert_eq!(envelope.encode(), bytes, "canonical re-encoding");
        assert_eq!(hex(envelope.header.record_id.as_bytes()), v.record_id);
        assert_eq!(hex(envelope.header.device_id.as_bytes()), v.device_id);
        assert_eq!(envelope.header.device_seq.0, v.device_seq);
        assert_eq!(hex(envelope.header.key_id.as_bytes()), v.key_id);
        assert_eq!(hex(envelope.nonce), v.nonce);
        assert_eq!(envelope.ciphertext.len(), v.ciphertext_len, "{}", v.comment);
    }
}

#[test]
fn open_errors_are_refused_for_the_stated_reason() {
    let file: EnvelopeFile = load("envelope.json");
    for class in ["unknown_key_id", "decrypt"] {
        assert!(file.open_errors.iter().any(|v| v.error == class), "no open error of class {class}");
    }
    for v in &file.open_errors {
        let sealer =
            RecordSealer::new(AccountId::from_bytes(unhex(&v.account_id)), &DataKey::from_bytes(unhex(&v.data_key)));
        let envelope = Envelope::decode(&hex::decode(&v.envelope).unwrap()).unwrap();
        let error = sealer.open(envelope).unwrap_err();
        assert_eq!(open_error_class(&error), v.error, "{}: {error}", v.comment);
    }
}

#[test]
fn clock_steps_match_the_json() {
    let vectors: Vec<HlcVector> = load("hlc.json");
    assert!(!vectors.is_empty());
    for v in vectors {
        let mut clock = Clock::new(Hlc::from_u64(v.last));
        for (i, step) in v.steps.iter().enumerate() {
            let now = UnixMillis(step.now);
            let (stamp, refused) = match (step.op.as_str(), step.remote) {
                ("tick", None) => match clock.tick(now) {
                    Ok(stamp) => (Some(stamp.as_u64()), None),
                    Err(e) => (None, Some(e)),
                },
                ("observe", Some(remote)) => (None, clock.observe(Hlc::from_u64(remote), now).err()),
                other => panic!("{}: step {i}: unknown step {other:?}", v.comment),
            };
            let refused = refused.map(|e| match e {
                ClockError::LocalClockBehind { .. } => "local_clock_behind",
                ClockError::RemoteTooFarAhead { .. } => "remote_too_far_ahead",
            });
            assert_eq!(stamp, step.stamp, "{}: step {i}", v.comment);
            assert_eq!(refused, step.refused.as_deref(), "{}: step {i}", v.comment);
            assert_eq!(clock.last().as_u64(), step.last, "{}: step {i}", v.comment);
        }
    }
}

/// The client seals and opens device names in `client/src/sync/mod.rs`
/// (`seal_device_name`, `open_device_name`), which are private to the client;
/// this opens each vector with the same calls they make: the data key's
/// record key, `RecordKey::open`, and the AAD built the same way.
#[test]
fn device_names_open_from_the_json() {
    let vectors: Vec<DeviceNameVector> = load("device-name.json");
    assert!(!vectors.is_empty());
    for v in vectors {
        let data_key = DataKey::from_bytes(unhex(&v.data_key));
        assert_eq!(hex(data_key.record_key().expose_secret()), v.record_key);
        let device_id: [u8; 16] = unhex(&v.device_id);
        let aad = [b"sealsync/v1/device-name".as_slice(), &device_id].concat();
        assert_eq!(hex(&aad), v.aad);
        let sealed = hex::decode(&v.sealed).unwrap();
        let (nonce, ciphertext) = sealed.split_first_chunk::<{ sealsync_crypto::NONCE_LEN }>().unwrap();
        assert_eq!(hex(nonce), v.nonce);
        let mut buffer = ciphertext.to_vec();
        data_key.record_key().open(nonce, &aad, &mut buffer).unwrap();
        assert_eq!(String::from_utf8(buffer).unwrap(), v.name, "{}", v.comment);
    }
}

#[test]
fn auth_key_hashes_match_the_server() {
    let file: AccountsFile = load("accounts.json");
    assert!(!file.auth_key_hash.is_empty());
    for v in &file.auth_key_hash {
        let hash = sealsync_server::auth::auth_key_hash(&unhex(&v.account_id), &unhex(&v.auth_key));
        assert_eq!(hex(hash), v.auth_key_hash, "{}", v.comment);
    }
}

/// Through the `POST /v1/login/params` handler itself, over a fresh SQLite
/// database that knows no account, with the vector's server secret.
#[tokio::test]
async fn fake_salt_seeds_match_the_server() {
    use sealsync_envelope::dto::LoginParamsRequest;
    use sealsync_server::store::Store;
    use sealsync_server::store::sqlite::SqliteStore;

    let file: AccountsFile = load("accounts.json");
    assert!(!file.fake_salt_seed.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("server.db").display());
    let store = SqliteStore::connect(&url, 1).await.unwrap();
    store.migrate().await.unwrap();
    let settings = sealsync_server::Settings::default();
    for v in &file.fake_salt_seed {
        let app = sealsync_server::App {
            store: store.clone(),
            limits: settings.limits,
            registration: settings.registration,
            fake_seed_key: std::sync::Arc::new(unhex(&v.server_secret)),
        };
        let request = LoginParamsRequest { account_name: v.account_name_input.clone() };
        let axum::Json(answer) = sealsync_server::routes::accounts::login_params(
            axum::extract::State(app),
            sealsync_server::body::Json(request),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {e:?}", v.comment));
        assert_eq!(hex(answer.salt_seed), v.salt_seed, "{}", v.comment);
        assert_eq!(answer.protocol_version, 1);
    }
}

/// PROTOCOL.md §11: every byte string and id in the files is lower-case hex
/// (record-body.json's `fields` are the client's JSON, UUID text included).
#[test]
fn every_byte_string_is_lower_case_hex() {
    const TEXT_FIELDS: [&str; 13] = [
        "comment",
        "passphrase",
        "account_name_input",
        "account_name",
        "kind",
        "name",
        "error",
        "op",
        "refused",
        "recovery_key",
        "recovery_key_with_typo",
        "code",
        "typed",
    ];
    fn walk(value: &serde_json::Value, key: &str, file: &str) {
        match value {
            serde_json::Value::String(s) if !TEXT_FIELDS.contains(&key) => assert!(
                s.len() % 2 == 0 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{file}: {key} = {s:?} is not lower-case hex"
            ),
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, key, file)),
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, k, file)),
            _ => {}
        }
    }
    for (name, contents) in generate() {
        let mut value: serde_json::Value = serde_json::from_str(&contents).unwrap();
        if let serde_json::Value::Array(items) = &mut value {
            items.iter_mut().filter_map(|i| i.as_object_mut()).for_each(|i| drop(i.remove("fields")));
        }
        walk(&value, "", name);
    }
}

/// SPAKE2's random scalar comes from 64 bytes of its RNG (`Scalar::random`);
/// this RNG hands out exactly the vector's 64 bytes.
struct VectorRng(Vec<u8>);

impl rand_core::RngCore for VectorRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        assert!(dest.len() <= self.0.len(), "SPAKE2 asked for more than the vector's random bytes");
        dest.copy_from_slice(&self.0[..dest.len()]);
        self.0.drain(..dest.len());
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for VectorRng {}

/// The `spake2` crate, called as the product calls it (its identities and
/// the code's password), on the vector's random bytes; then the production
/// key schedule and opening from `K` on; then the production approver against
/// the vector's message of N.
#[test]
fn link_exchanges_finish_and_open_from_the_json() {
    use sealsync_crypto::link::{ID_APPROVER, ID_NEW};
    use spake2::{Ed25519Group, Identity, Password, Spake2};

    let file: LinkFile = load("link.json");
    assert!(file.exchanges.len() >= 2);
    for v in &file.exchanges {
        let code = LinkCode::parse(&v.code).unwrap();
        assert_eq!(code.pairing().get(), v.pairing);
        assert_eq!(hex(code.password().expose_secret()), v.password);
        assert_eq!(code.to_text().as_str(), v.code);

        let password = Password::new(code.password().expose_secret());
        let (id_new, id_approver) = (Identity::new(ID_NEW), Identity::new(ID_APPROVER));
        let rng = |random: &str| VectorRng(hex::decode(random).unwrap());
        let (new, message_new) =
            Spake2::<Ed25519Group>::start_a_with_rng(&password, &id_new, &id_approver, rng(&v.x_random));
        let (approver, message_approver) =
            Spake2::<Ed25519Group>::start_b_with_rng(&password, &id_new, &id_approver, rng(&v.y_random));
        assert_eq!(hex(&message_new), v.message_new, "{}", v.comment);
        assert_eq!(hex(&message_approver), v.message_approver, "{}", v.comment);
        let k = new.finish(&message_approver).unwrap();
        assert_eq!(approver.finish(&message_new).unwrap(), k);
        assert_eq!(hex(&k), v.k, "{}", v.comment);

        let transcript = Transcript {
            pairing: code.pairing(),
            new_device_id: unhex(&v.new_device_id),
            approver_device_id: unhex(&v.approver_device_id),
        };
        assert_eq!(hex(transcript.to_bytes()), v.transcript);
        let keys = LinkKeys::derive(&SpakeKey::from_bytes(unhex(&v.k)), transcript);
        assert_eq!(hex(keys.confirm_new.expose_secret()), v.confirm_new);
        assert_eq!(hex(keys.confirm_approver.expose_secret()), v.confirm_approver);
        assert_eq!(hex(keys.link_key.expose_secret()), v.link_key);
        keys.check_new(&hex::decode(&v.confirm_new).unwrap()).unwrap();
        keys.check_approver(&hex::decode(&v.confirm_approver).unwrap()).unwrap();
        let name = keys.open_name(&hex::decode(&v.sealed_name).unwrap()).unwrap();
        assert_eq!(String::from_utf8(name).unwrap(), v.name);
        let bundle = keys.open_bundle(&hex::decode(&v.sealed_bundle).unwrap()).unwrap();
        assert_eq!(hex(bundle.as_slice()), v.bundle);

        // The production approver (its own random scalar) with the vector's
        // message of N reaches the same keys as the crate's N side.
        let (new, _) = Spake2::<Ed25519Group>::start_a_with_rng(&password, &id_new, &id_approver, rng(&v.x_random));
        let production = ApproverLink::start(&code, transcript.new_device_id, transcript.approver_device_id);
        let its_message = production.message();
        let production = production.finish(&LinkMessage::from_bytes(&message_new).unwrap()).unwrap();
        let k = SpakeKey::try_from_slice(&new.finish(its_message.as_bytes()).unwrap()).unwrap();
        assert_eq!(production, LinkKeys::derive(&k, transcript), "{}", v.comment);
    }
    for c in &file.codes {
        match LinkCode::parse(&c.typed) {
            Ok(code) => {
                assert_eq!(Some(code.pairing().get()), c.pairing, "{}", c.comment);
                assert_eq!(Some(hex(code.password().expose_secret())), c.password, "{}", c.comment);
                assert_eq!(c.error, None, "{}", c.comment);
            }
            Err(e) => {
                assert_eq!(e, sealsync_crypto::Error::LinkCodeFormat);
                assert_eq!(c.error.as_deref(), Some("link_code_format"), "{}", c.comment);
            }
        }
    }
}

/// The constants PROTOCOL.md §6 writes for SPAKE2 are the generator's.
#[test]
fn the_spake2_constants_are_the_specifications() {
    let section = PROTOCOL.split("\n## 6. Device linking").nth(1).unwrap().split("\n## 7.").next().unwrap();
    assert!(section.contains(SPAKE2_M), "§6 names M = {SPAKE2_M}");
    assert!(section.contains(SPAKE2_N), "§6 names N = {SPAKE2_N}");
}

#[test]
fn merges_match_the_json_in_every_order() {
    let vectors: Vec<MergeVector> = load("merge.json");
    assert!(vectors.len() >= 8);
    for v in vectors {
        let versions: Vec<Version> = v.versions.iter().map(VersionVector::to_version).collect();
        let indices: Vec<usize> = (0..versions.len()).collect();
        for order in permutations(&indices) {
            let merged = order.iter().map(|&i| versions[i].clone()).reduce(|a, b| merge(&a, &b).version).unwrap();
            assert_eq!(VersionVector::of(&merged), v.merged, "{} (order {order:?})", v.comment);
        }
        let lost: Vec<_> = merge(&versions[0], &versions[1]).lost.iter().map(lost_vector).collect();
        assert_eq!(lost, v.lost, "{}", v.comment);
    }
}

/// Each kind's body opens from the JSON through the production API and
/// decodes to exactly the listed groups; the client's own encoding of
/// `fields` is checked against the same file in the client's tests.
#[test]
fn record_bodies_open_and_decode_from_the_json() {
    let vectors: Vec<RecordBodyVector> = load("record-body.json");
    let kinds: Vec<&str> = vectors.iter().map(|v| v.sealed.payload.kind.as_str()).collect();
    assert_eq!(kinds, ["mood", "assessment", "activity", "schedule"]);
    for v in vectors {
        let e = &v.sealed;
        let sealer =
            RecordSealer::new(AccountId::from_bytes(unhex(&e.account_id)), &DataKey::from_bytes(unhex(&e.data_key)));
        let payload = sealer.open(Envelope::decode(&hex::decode(&e.envelope).unwrap()).unwrap()).unwrap();
        assert_eq!(hex(&payload.body), v.body, "{}", v.comment);
        let body = RecordBody::decode(&payload.body).unwrap();
        assert_eq!(body.encode(), payload.body, "canonical: {}", v.comment);
        let groups: Vec<_> = body.groups.iter().map(|(&id, g)| (id, hex(&g.value), stamp_vectors(&g.stamps))).collect();
        let listed: Vec<_> = v.groups.iter().map(|g| (g.id, g.value.clone(), g.stamps.clone())).collect();
        assert_eq!(groups, listed, "{}", v.comment);
        // Payload key 2 is the greatest stamp in the body.
        let version =
            Version::from_payload(&payload, sealsync_envelope::DeviceId::from_bytes(unhex(&e.device_id))).unwrap();
        assert_eq!(version.dot().unwrap().hlc.as_u64(), e.payload.hlc);
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

/// PROTOCOL.md §3.3, through the production API.
#[test]
fn keyring_entries_open_from_the_json() {
    let vectors: Vec<sealsync_test_vectors::keys::KeyringVector> = load("keyring.json");
    for v in vectors {
        let current = DataKey::from_bytes(unhex(&v.current_data_key));
        assert_eq!(hex(current.key_id().0), v.current_key_id);
        let sealed = sealsync_crypto::SealedKey::from_bytes(&hex::decode(&v.sealed_key).unwrap()).unwrap();
        let account: [u8; 16] = unhex(&v.account_id);
        let older =
            sealsync_crypto::open_older_key(&current, &sealed, KeyId(unhex(&v.older_key_id)), &account).unwrap();
        assert_eq!(hex(older.expose_secret()), v.older_data_key);
        assert_eq!(hex(sealsync_crypto::keyring_aad(&account, current.key_id(), older.key_id())), v.aad);
        assert_eq!(hex(current.keyring_key().expose_secret()), v.keyring_key);
        // The older key cannot open it.
        assert!(sealsync_crypto::open_older_key(&older, &sealed, older.key_id(), &account).is_err());
    }
}

/// PROTOCOL.md §3.4, through the production API.
#[test]
fn recovery_keys_parse_derive_and_unwrap_from_the_json() {
    use sealsync_crypto::recovery::{anchor, public_key_mac, unwrap_with_recovery};
    use sealsync_crypto::{RecoverySecret, RecoveryWrapped};
    let vectors: Vec<sealsync_test_vectors::keys::RecoveryVector> = load("recovery.json");
    for v in vectors {
        let secret = RecoverySecret::parse(&v.recovery_key).unwrap();
        assert_eq!(hex(secret.expose_secret()), v.recovery_secret);
        assert_eq!(*secret.to_code(), v.recovery_key);
        assert_eq!(RecoverySecret::parse(&v.recovery_key_with_typo), Err(sealsync_crypto::Error::RecoveryKeyChecksum));
        assert_eq!(hex(secret.auth().expose_secret()), v.recovery_auth);
        assert_eq!(hex(secret.private_key().expose_secret()), v.recovery_private);
        assert_eq!(hex(secret.public_key().0), v.recovery_public);
        let account: [u8; 16] = unhex(&v.account_id);
        let data_key = DataKey::from_bytes(unhex(&v.data_key));
        let root = sealsync_crypto::RootKey::from_bytes(unhex(&v.root_key));
        assert_eq!(hex(public_key_mac(&root, &account, &secret.public_key())), v.public_key_mac);
        assert_eq!(hex(anchor(&secret, &account, data_key.key_id())), v.anchor);
        let wrapped = RecoveryWrapped::from_bytes(&hex::decode(&v.wrapped_key).unwrap()).unwrap();
        let opened = unwrap_with_recovery(&secret, &wrapped, &account, KeyId(unhex(&v.key_id))).unwrap();
        assert_eq!(opened, data_key);
    }
}
