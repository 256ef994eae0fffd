//! The workloads: real devices (the client library, each with its own SQLite
//! store, syncing over real HTTP) doing what users do.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sealsync_client::{
    Activity, Assessment, AssessmentKind, EnableOptions, Journal, Mood, Passphrase, Recurrence, Schedule,
};
use uuid::Uuid;

/// The passphrase every benchmark account uses.
const PASSPHRASE: &str = "correct horse battery staple, benchmarked";

/// A note of about `len` characters, different per record.
fn note(i: usize, len: usize) -> String {
    let words = ["slept", "walked", "river", "tired", "call", "mother", "work", "calm", "rain", "better"];
    let mut out = String::with_capacity(len + 16);
    let mut k = i;
    while out.len() < len {
        out.push_str(words[k % words.len()]);
        out.push(' ');
        k = k.wrapping_mul(31).wrapping_add(7);
    }
    out.truncate(len);
    out
}

/// Creates `count` realistic records (about 300 bytes of plaintext each, a mix
/// of the four kinds); returns the ids of the moods, for later edits.
pub fn fill(journal: &mut Journal, count: usize, offset: usize) -> Vec<Uuid> {
    let mut moods = Vec::new();
    let mut activity = None;
    for n in offset..offset + count {
        match n % 20 {
            0..=7 => moods.push(
                journal
                    .create(&Mood {
                        score: (n % 10 + 1) as u8,
                        note: note(n, 250),
                        tags: vec!["work".into(), "sleep".into()],
                    })
                    .unwrap(),
            ),
            8..=11 => {
                let kind = if n % 2 == 0 { AssessmentKind::Phq9 } else { AssessmentKind::Gad7 };
                let answers = (0..kind.items()).map(|i| ((n + i) % 4) as u8).collect();
                journal.create(&Assessment::new(kind, answers).unwrap()).unwrap();
            }
            12..=16 => {
                let fields = Activity {
                    name: format!("walk {n}"),
                    category: Some("exercise".into()),
                    minutes: Some(30),
                    enjoyment: Some(7),
                    mastery: Some(5),
                    when: 1_764_000_000_000 + n as u64,
                    note: note(n, 200),
                };
                activity = Some(journal.create(&fields).unwrap());
            }
            _ => {
                let fields = Schedule {
                    activity_id: activity.unwrap_or_else(Uuid::new_v4),
                    recurrence: Recurrence::Weekly(vec!["mon".into(), "wed".into(), "fri".into()]),
                    at: "07:30".into(),
                    tz: "Europe/Berlin".into(),
                    active: true,
                };
                journal.create(&fields).unwrap();
            }
        }
    }
    moods
}

fn options(server: &str, account: &str, create: bool) -> EnableOptions {
    EnableOptions {
        server_url: server.to_owned(),
        account_name: account.to_owned(),
        passphrase: Passphrase::new(PASSPHRASE.to_owned()).unwrap(),
        create,
        allow_insecure_http: false,
        device_name: "bench".into(),
        recovery_key: false,
    }
}

/// Opens a journal in `dir` and turns sync on; returns it and the unlock time
/// (Argon2id plus the register/login round trip).
pub async fn device(dir: &Path, server: &str, account: &str, create: bool) -> (Journal, Duration) {
    let mut journal = Journal::open(dir).unwrap();
    let started = Instant::now();
    journal.enable_sync(options(server, account, create)).await.unwrap();
    (journal, started.elapsed())
}

/// Opens a journal, fills it, then turns sync on (so every record is queued).
pub async fn filled_device(dir: &Path, server: &str, account: &str, count: usize) -> (Journal, Vec<Uuid>, Duration) {
    let mut journal = Journal::open(dir).unwrap();
    let moods = fill(&mut journal, count, 0);
    let started = Instant::now();
    journal.enable_sync(options(server, account, true)).await.unwrap();
    (journal, moods, started.elapsed())
}

/// One full sync; its duration.
pub async fn sync(journal: &mut Journal) -> Duration {
    let started = Instant::now();
    journal.sync_now(&mut |_| {}).await.unwrap();
    started.elapsed()
}

/// `runs` times: edit one mood, then sync; the round-trip latencies.
pub async fn incremental(journal: &mut Journal, moods: &[Uuid], runs: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(runs);
    for run in 0..runs {
        let id = moods[(run * 7919) % moods.len()];
        let started = Instant::now();
        let mood = Mood { score: (run % 10 + 1) as u8, note: note(run, 250), tags: vec![] };
        journal.update(id, &mood).unwrap();
        journal.sync_now(&mut |_| {}).await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies
}

/// `runs` times, two devices of one account taking turns: one edits a mood
/// and syncs, receiving the other's edit made since its last sync; the
/// latencies of those syncs (edit included). This is the incremental sync
/// that needs what another device wrote: one request when the push's answer
/// carries the page (PROTOCOL.md §8.2), two (push, then pull) before.
pub async fn incremental_pair(a: &mut Journal, b: &mut Journal, moods: &[Uuid], runs: usize) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(runs);
    // Both start caught up.
    b.sync_now(&mut |_| {}).await.unwrap();
    for run in 0..runs {
        let journal = if run % 2 == 0 { &mut *a } else { &mut *b };
        let id = moods[(run * 7919) % moods.len()];
        let started = Instant::now();
        let mood = Mood { score: (run % 10 + 1) as u8, note: note(run + 1, 250), tags: vec![] };
        journal.update(id, &mood).unwrap();
        let summary = journal.sync_now(&mut |_| {}).await.unwrap();
        latencies.push(started.elapsed());
        assert!(run == 0 || summary.applied == 1, "each sync receives the other's edit: {summary:?}");
    }
    latencies
}

/// Creates `count` moods (about 300 bytes each) in a new journal through the
/// library's batch API, `batch` per call; the elapsed time.
pub fn bulk_create(dir: &Path, count: usize, batch: usize) -> Duration {
    let mut journal = Journal::open(dir).unwrap();
    let moods: Vec<Mood> = (0..count)
        .map(|n| Mood { score: (n % 10 + 1) as u8, note: note(n, 250), tags: vec!["work".into(), "sleep".into()] })
        .collect();
    let started = Instant::now();
    for chunk in moods.chunks(batch.max(1)) {
        journal.create_many(chunk).unwrap();
    }
    let elapsed = started.elapsed();
    assert_eq!(journal.list::<Mood>(false).unwrap().len(), count);
    elapsed
}

/// What the concurrency workload measured.
pub struct Concurrency {
    pub syncs: u64,
    pub errors: u64,
    pub latencies: Vec<Duration>,
    pub elapsed: Duration,
    /// How the cores' time split while the devices synced.
    pub cpu: Option<crate::cpu::Split>,
}

/// `accounts` accounts of two devices each; for `seconds`, every device
/// repeatedly edits a record and syncs. `cpu` reads the CPU counters, at the
/// start and end of the syncing (not of the set-up).
pub async fn concurrency(
    root: &Path,
    server: &str,
    accounts: usize,
    seconds: u64,
    cpu: impl Fn() -> Option<crate::cpu::Reading>,
) -> Concurrency {
    // Set-up: every device unlocks once (Argon2id), two at a time per core.
    let mut devices = Vec::new();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(2));
    let mut setups = Vec::new();
    for a in 0..accounts {
        let (server, root, semaphore) = (server.to_owned(), root.to_owned(), semaphore.clone());
        setups.push(tokio::spawn(async move {
            let account = format!("load-{a}-{}@bench.example", Uuid::new_v4().simple());
            let permit = semaphore.acquire().await.unwrap();
            let (mut first, _) = device(&root.join(format!("a{a}-0")), &server, &account, true).await;
            let (mut second, _) = device(&root.join(format!("a{a}-1")), &server, &account, false).await;
            drop(permit);
            let id = first.create(&Mood { score: 5, note: note(a, 250), tags: vec![] }).unwrap();
            first.sync_now(&mut |_| {}).await.unwrap();
            second.sync_now(&mut |_| {}).await.unwrap();
            vec![(first, id), (second, id)]
        }));
    }
    for setup in setups {
        devices.extend(setup.await.unwrap());
    }

    eprintln!("concurrency: {} devices ready, syncing for {seconds} s", devices.len());
    let syncs = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let before = cpu();
    let mut tasks = Vec::new();
    for (n, (mut journal, id)) in devices.into_iter().enumerate() {
        let (syncs, errors) = (syncs.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut k = n;
            while Instant::now() < deadline {
                k += 1;
                let began = Instant::now();
                let edit = journal.update(id, &Mood { score: (k % 10 + 1) as u8, note: note(k, 250), tags: vec![] });
                // A peer's delete is not expected here; an edit that loses the
                // race to the other device's edit is still a good sync.
                let result = match edit {
                    Ok(_) => journal.sync_now(&mut |_| {}).await.map(drop),
                    Err(e) => Err(e),
                };
                match result {
                    Ok(()) => {
                        syncs.fetch_add(1, Ordering::Relaxed);
                        latencies.push(began.elapsed());
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("sync error: {e}");
                    }
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let split = before.zip(cpu()).and_then(|(before, after)| crate::cpu::split(before, after));
    Concurrency {
        cpu: split,
        syncs: syncs.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        latencies,
        elapsed: started.elapsed(),
    }
}
