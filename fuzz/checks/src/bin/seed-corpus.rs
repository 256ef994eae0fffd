//! Writes the seed corpus, `fuzz/corpus/<target>/seed-*`, from the vectors in
//! `test-vectors/v1/` and the shared DTOs:
//!
//! ```sh
//! cargo run -p sealsync-fuzz-checks --bin seed-corpus
//! ```
//!
//! Files a fuzzer found (named by their SHA-1) are left alone. Inputs over
//! 4 KiB are skipped: the largest vectors (64 KiB envelopes) are covered by
//! the vector tests, and a small corpus keeps libFuzzer's inputs short.

use std::path::{Path, PathBuf};

use sealsync_envelope::dto::{
    DeleteAccountRequest, DeviceListEntry, DeviceMark, DeviceRegistration, EnvelopeBytes, LogId, LogState,
    LoginParamsRequest, LoginParamsResponse, LoginRequest, MetaResponse, PullResponse, PulledEnvelope, PushRequest,
    PushResponse, PushResult, RegisterRequest, RejectCode, RenameDeviceRequest, ServerLimits, SessionResponse,
    WrappedKey, to_cbor,
};
use sealsync_envelope::{
    AccountId, Cursor, DeviceId, Dot, Group, Hlc, RecordBody, RecordKind, RecordPayload, Stamps, UnixMillis,
};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

const MAX_SEED: usize = 4096;

struct Corpus {
    root: PathBuf,
    written: usize,
}

impl Corpus {
    fn put(&mut self, target: &str, name: &str, data: &[u8]) {
        if data.len() > MAX_SEED {
            return;
        }
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        std::fs::write(dir.join(format!("seed-{name}")), data).expect("write a seed");
        self.written += 1;
    }
}

fn vectors(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/v1").join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("a vector file")).expect("JSON")
}

fn hex(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("a hex string")).expect("hex")
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let mut corpus = Corpus { root, written: 0 };
    let c = &mut corpus;

    let envelope = vectors("envelope.json");
    let record_body = vectors("record-body.json");
    let mut sealed = Vec::new();
    for (i, case) in envelope["valid"].as_array().unwrap().iter().enumerate() {
        sealed.push((format!("valid-{i}"), case.clone()));
    }
    for (i, case) in record_body.as_array().unwrap().iter().enumerate() {
        sealed.push((format!("record-body-{i}"), case["sealed"].clone()));
    }

    // Envelopes: every vector, valid or not, that fits.
    for (name, case) in &sealed {
        c.put("envelope", name, &hex(&case["envelope"]));
    }
    for (i, case) in envelope["decodes"].as_array().unwrap().iter().enumerate() {
        c.put("envelope", &format!("decodes-{i}"), &hex(&case["envelope"]));
    }
    for (section, class) in [("invalid", "error"), ("open_errors", "error")] {
        for (i, case) in envelope[section].as_array().unwrap().iter().enumerate() {
            let class = case[class].as_str().unwrap();
            c.put("envelope", &format!("{section}-{i}-{class}"), &hex(&case["envelope"]));
        }
    }

    // Payloads and padded plaintexts of every sealed vector.
    let mut envelopes = Vec::new();
    for (name, case) in &sealed {
        let payload = hex(&case["payload_cbor"]);
        c.put("payload", name, &payload);
        c.put("unpad", name, &hex(&case["padded_plaintext"]));
        let decoded = RecordPayload::decode(&payload).expect("a vector payload");
        if !decoded.body.is_empty() {
            c.put("record_body", &format!("{name}-body"), &decoded.body);
        }
        envelopes.push(EnvelopeBytes(hex(&case["envelope"])));
    }
    // ... and a few that break one rule each.
    let live = RecordPayload::decode(&hex(&sealed[0].1["payload_cbor"])).unwrap();
    let mut bytes = Vec::new();
    RecordPayload { deleted_at: Some(UnixMillis(1)), ..live.clone() }.encode_into(&mut bytes);
    c.put("payload", "tombstone-with-body", &bytes);
    let mut bytes = Vec::new();
    RecordPayload { kind: RecordKind::new("x".repeat(32)).unwrap(), body: vec![], ..live.clone() }
        .encode_into(&mut bytes);
    c.put("payload", "longest-kind-empty-body", &bytes);
    bytes.push(0);
    c.put("payload", "trailing-byte", &bytes);
    let mut padded = hex(&sealed[0].1["padded_plaintext"]);
    c.put("unpad", "empty", &sealsync_envelope::padding::pad(b"").unwrap());
    *padded.last_mut().unwrap() = 1;
    c.put("unpad", "non-zero-padding", &padded);

    // Record bodies: record-body.json and every version of merge.json.
    for (i, case) in record_body.as_array().unwrap().iter().enumerate() {
        c.put("record_body", &format!("record-body-{i}"), &hex(&case["body"]));
    }
    for (i, case) in vectors("merge.json").as_array().unwrap().iter().enumerate() {
        for (j, version) in case["versions"].as_array().unwrap().iter().enumerate() {
            let Some(groups) = version["groups"].as_array().filter(|g| !g.is_empty()) else { continue };
            let mut body = RecordBody::default();
            for group in groups {
                let mut stamps = Stamps::default();
                for stamp in group["stamps"].as_array().unwrap() {
                    let device = DeviceId::from_bytes(hex(&stamp["device_id"]).try_into().unwrap());
                    stamps.join(&Stamps::single(Dot { hlc: Hlc::from_u64(stamp["hlc"].as_u64().unwrap()), device }));
                }
                body.groups.insert(group["id"].as_u64().unwrap(), Group { value: hex(&group["value"]), stamps });
            }
            c.put("record_body", &format!("merge-{i}-{j}"), &body.encode());
        }
    }

    // CBOR sync bodies.
    c.put("dto_cbor", "push", &to_cbor(&PushRequest::new(envelopes[..2].to_vec())));
    c.put("dto_cbor", "push-empty", &to_cbor(&PushRequest::new(vec![])));
    c.put("dto_cbor", "push-not-envelopes", &to_cbor(&PushRequest::new(vec![EnvelopeBytes(vec![0xa0])])));
    #[derive(Serialize)]
    struct FuturePush {
        envelopes: Vec<EnvelopeBytes>,
        compression: &'static str,
    }
    let future = FuturePush { envelopes: envelopes[1..2].to_vec(), compression: "none" };
    c.put("dto_cbor", "push-unknown-key", &to_cbor(&future));
    let codes = [
        RejectCode::MalformedEnvelope,
        RejectCode::UnsupportedVersion,
        RejectCode::UnsupportedSuite,
        RejectCode::UnknownKeyId,
        RejectCode::EnvelopeTooLarge,
        RejectCode::DeviceMismatch,
        RejectCode::DeviceSeqReused,
        RejectCode::QuotaExceeded,
    ];
    let mut results = vec![PushResult::Stored { seq: Cursor(41) }, PushResult::Duplicate, PushResult::Superseded];
    results.extend(codes.map(|code| PushResult::Rejected { code }));
    c.put(
        "dto_cbor",
        "push-response",
        &to_cbor(&PushResponse {
            results,
            cursor: Cursor(41),
            log: Some(LogState {
                id: LogId([0x5a; 16]),
                head: Cursor(41),
                devices: vec![DeviceMark { device: [3; 16], high: 9 }],
            }),
            pull: None,
        }),
    );
    let page = PullResponse {
        envelopes: envelopes[..2]
            .iter()
            .enumerate()
            .map(|(i, e)| PulledEnvelope { seq: Cursor(u64::MAX - 1 + i as u64), envelope: e.clone() })
            .collect(),
        next_cursor: Cursor(u64::MAX),
        more: true,
        log: Some(LogState { id: LogId([0xa5; 16]), head: Cursor(u64::MAX), devices: vec![] }),
    };
    c.put("dto_cbor", "pull", &to_cbor(&page));
    c.put(
        "dto_cbor",
        "pull-empty",
        &to_cbor(&PullResponse { envelopes: vec![], next_cursor: Cursor(0), more: false, log: None }),
    );

    // JSON bodies: each request as a client sends it, some refused, and the answers.
    let account_id = AccountId(Uuid::from_u128(0x0f8fad5b_d9cb_469f_a165_70867728950e));
    let device = DeviceRegistration {
        id: DeviceId(Uuid::from_u128(0x7c9e6679_7425_40de_944b_e07fc1f90ae7)),
        encrypted_name: vec![0xe5; 40],
    };
    let register = RegisterRequest {
        account_id,
        account_name: "someone@example.org".into(),
        protocol_version: 1,
        salt_seed: [0xa1; 32],
        auth_key: [0xb2; 32],
        key_id: [0xc3; 16],
        wrapped_data_key: vec![0xd4; 72],
        device: device.clone(),
        recovery: None,
    };
    c.put("json", "register", &json_of(&register));
    let login = LoginRequest { account_name: "someone@example.org".into(), auth_key: [0xb2; 32], device };
    c.put("json", "login", &json_of(&login));
    c.put("json", "login-params", &json_of(&LoginParamsRequest { account_name: " Someone@Example.org ".into() }));
    c.put("json", "delete-account", &json_of(&DeleteAccountRequest { auth_key: [0; 32] }));
    c.put("json", "rename-device", &json_of(&RenameDeviceRequest { encrypted_name: vec![0x01; 64] }));
    let mut refused = serde_json::to_value(&register).unwrap();
    refused["key_id"] = json!("C3".repeat(16));
    refused["account_id"] = json!("0f8fad5b-d9cb-169f-a165-70867728950e");
    refused["unknown"] = json!([1, 2, 3]);
    c.put("json", "register-refused", &serde_json::to_vec(&refused).unwrap());
    let mut refused = serde_json::to_value(&login).unwrap();
    refused["device"]["encrypted_name"] = json!("abc");
    c.put("json", "login-refused", &serde_json::to_vec(&refused).unwrap());
    c.put("json", "path-id", b"0f8fad5b-d9cb-469f-a165-70867728950e");
    let session = SessionResponse {
        account_id,
        device_id: login.device.id,
        token: "0".repeat(64),
        protocol_version: 1,
        key: WrappedKey { key_id: [0xc3; 16], wrapped_data_key: vec![0xd4; 72] },
        keyring: Vec::new(),
    };
    c.put("json", "session", &json_of(&session));
    c.put("json", "login-params-response", &json_of(&LoginParamsResponse { protocol_version: 1, salt_seed: [7; 32] }));
    let devices = vec![DeviceListEntry {
        id: login.device.id,
        encrypted_name: vec![],
        created_at: 1_764_028_800_000,
        last_seen_at: 1_764_028_800_000,
        revoked_at: Some(1_764_028_900_000),
        current: false,
    }];
    c.put("json", "devices", &json_of(&devices));
    let meta = MetaResponse {
        server_version: "0.1.0".into(),
        protocol_versions: vec![1],
        envelope_versions: vec![1],
        suites: vec![1],
        registration_open: true,
        limits: ServerLimits::default(),
    };
    c.put("json", "meta", &json_of(&meta));

    // Link messages.
    let link = &vectors("link.json");
    let exchange = &link["exchanges"][0];
    c.put("link", "code", exchange["code"].as_str().expect("a code").as_bytes());
    c.put("link", "message", &hex(&exchange["message_new"]));
    c.put("link", "message-one-short", &hex(&exchange["message_new"])[..32]);
    let sealed = hex(&exchange["sealed_bundle"]);
    c.put("link_open", "sealed-bundle", &sealed);
    c.put("link_open", "sealed-name", &hex(&exchange["sealed_name"]));
    let mut tag = sealed.clone();
    *tag.last_mut().expect("not empty") ^= 0x80;
    c.put("link_open", "tag-flipped", &tag);
    c.put("link_open", "no-payload", &sealed[..40]);

    println!("wrote {} seeds under {}", corpus.written, corpus.root.display());
}

fn json_of<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("DTOs serialise")
}
