//! Envelope seal + encode + decode + open against raw XChaCha20-Poly1305 seal +
//! open of the same record sizes, in one run (issue: the envelope path at 1 KiB
//! should reach at least 80% of raw AEAD throughput).
//!
//! Run: `cargo bench -p sealsync-envelope --bench seal_open`.
//! Throughput is counted in record-body bytes for both paths. Both draw a fresh
//! nonce from the OS RNG per message, as any correct use of the AEAD must.

use std::hint::black_box;

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sealsync_crypto::DataKey;
use sealsync_envelope::{
    AccountId, DeviceId, DeviceSeq, Envelope, Hlc, RecordId, RecordKind, RecordPayload, RecordSealer, UnixMillis,
};

const SIZES: [usize; 3] = [256, 1024, 16 * 1024];

fn seal_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal+open");
    let key = [7u8; 32];
    let aead = XChaCha20Poly1305::new(&key.into());
    let sealer = RecordSealer::new(AccountId::random(), &DataKey::from_bytes(key));
    let (record_id, device_id) = (RecordId::random(), DeviceId::random());

    for size in SIZES {
        group.throughput(Throughput::Bytes(size as u64));

        let plaintext = vec![0x5a; size];
        let aad = [0u8; 76];
        group.bench_with_input(BenchmarkId::new("raw-xchacha20poly1305", size), &plaintext, |b, pt| {
            b.iter(|| {
                let mut nonce = [0u8; 24];
                getrandom::fill(&mut nonce).unwrap();
                let nonce = XNonce::from(nonce);
                let mut buffer = pt.clone();
                aead.encrypt_in_place(&nonce, &aad, &mut buffer).unwrap();
                aead.decrypt_in_place(&nonce, &aad, &mut buffer).unwrap();
                black_box(buffer)
            })
        });

        let payload = RecordPayload {
            kind: RecordKind::new("mood").unwrap(),
            hlc: Hlc::new(1_764_000_000_000, 0).unwrap(),
            created_at: UnixMillis(1_764_000_000_000),
            deleted_at: None,
            body: plaintext.clone(),
        };
        group.bench_with_input(BenchmarkId::new("envelope", size), &payload, |b, payload| {
            b.iter(|| {
                let bytes = sealer.seal(record_id, device_id, DeviceSeq(1), payload).unwrap().encode();
                let envelope = Envelope::decode(black_box(&bytes)).unwrap();
                black_box(sealer.open(envelope).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, seal_open);
criterion_main!(benches);
