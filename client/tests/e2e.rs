//! End to end: the `sealsync` CLI on several devices (data directories)
//! against the real `sealsync-server` binary, over SQLite and over Postgres.
//! Each scenario asserts what a person keeping a journal relies on: every
//! device ends with the same entries, the last edit wins everywhere and a
//! delete stays deleted, a cut-off sync loses and duplicates nothing, a wrong
//! passphrase uploads nothing, a tampered envelope is set aside rather than
//! applied, and nothing written in the journal ever reaches the server in a
//! readable form.

mod common;

use std::time::Duration;

use common::{
    Device, KINDS, PASSPHRASE, Proxy, Server, account_name, assert_converged, expect_failure, find, id_of, is_deleted,
    sync_all, sync_concurrently, text, wait_output,
};
use serde_json::Value;

on_both_backends!(
    two_devices_converge,
    three_devices_converge,
    conflicting_offline_edits_converge_and_deletes_win,
    concurrent_edits_to_different_fields_both_survive_and_a_lost_edit_is_kept,
    repeated_and_interrupted_syncs_lose_and_duplicate_nothing,
    wrong_passphrase_is_refused_before_any_upload,
    tampered_envelope_is_quarantined_and_the_rest_applies,
    journal_content_never_reaches_the_server,
    an_edit_then_a_sync_is_one_request,
);

fn n(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("not a count: {value}"))
}

fn count_live(records: &[Value]) -> usize {
    records.iter().filter(|r| r["deleted_at"].is_null()).count()
}

// ---------------------------------------------------------------------------
// 1. Every kind, created, edited and deleted on different devices
// ---------------------------------------------------------------------------

/// What one device made: one record of each kind to edit, one to delete.
struct Made {
    mood: String,
    spare_mood: String,
    assessment: String,
    spare_assessment: String,
    activity: String,
    spare_activity: String,
    schedule: String,
    spare_schedule: String,
}

fn make_one_of_each(device: &Device, i: usize) -> Made {
    let score = (3 + i).to_string();
    let note = format!("made on {}", device.name);
    let mood = device.add(&["mood", "add", "--score", &score, "--note", &note, "--tag", "work", "--tag", "sleep"]);
    let spare_mood = device.add_mood(5, "a mood to delete");
    let assessment = device.add_assessment("phq9", "0,1,2,3,0,1,2,3,0");
    let spare_assessment = device.add_assessment("gad7", "1,1,1,1,1,1,1");
    let activity = device.add(&[
        "activity",
        "add",
        "--name",
        "walk",
        "--category",
        "exercise",
        "--minutes",
        "30",
        "--enjoyment",
        "7",
        "--mastery",
        "5",
        "--note",
        "around the park",
    ]);
    let spare_activity = device.add_activity("call a friend");
    let schedule = device.add_schedule(&activity, "mon,wed", "07:30");
    let spare_schedule = device.add_schedule(&spare_activity, "daily", "18:00");
    Made { mood, spare_mood, assessment, spare_assessment, activity, spare_activity, schedule, spare_schedule }
}

fn every_kind_converges(server: &Server, names: &[&'static str]) -> Vec<Device> {
    let account = account_name();
    let devices: Vec<Device> = names.iter().map(|name| Device::new(name)).collect();
    let all: Vec<&Device> = devices.iter().collect();
    let count = devices.len();
    devices[0].enable(server, &account, true);
    for device in &devices[1..] {
        device.enable(server, &account, false);
    }

    // Create: every device makes records of every kind.
    let made: Vec<Made> = devices.iter().enumerate().map(|(i, d)| make_one_of_each(d, i)).collect();
    sync_all(&all, 2);
    let lists = assert_converged(&all);
    for (k, kind) in KINDS.iter().enumerate() {
        assert_eq!(lists[k].len(), 2 * count, "every device holds every {kind}");
    }
    let first = &lists[0];
    for (i, m) in made.iter().enumerate() {
        let mood = find(first, &m.mood);
        assert_eq!(mood["score"], (3 + i) as u64);
        assert_eq!(mood["note"], format!("made on {}", names[i]));
    }
    // `show` is the same record as the list.
    assert_eq!(&devices[count - 1].show("mood", &made[0].mood), find(first, &made[0].mood));

    // Edit: device i edits what device i+1 made.
    for (i, device) in devices.iter().enumerate() {
        let theirs = &made[(i + 1) % count];
        let note = format!("edited on {}", device.name);
        device.run(&["mood", "edit", &theirs.mood, "--score", "9", "--note", &note]);
        device.run(&["assessment", "edit", &theirs.assessment, "--answers", "3,3,3,3,3,3,3,3,3"]);
        device.run(&["activity", "edit", &theirs.activity, "--minutes", "45", "--note", &note]);
        device.run(&["schedule", "edit", &theirs.schedule, "--at", "08:15"]);
    }
    sync_all(&all, 2);
    let lists = assert_converged(&all);
    for (j, m) in made.iter().enumerate() {
        let editor = names[(j + count - 1) % count];
        let mood = find(&lists[0], &m.mood);
        assert_eq!((&mood["score"], &mood["note"]), (&Value::from(9), &Value::from(format!("edited on {editor}"))));
        assert_eq!(mood["tags"], serde_json::json!(["work", "sleep"]), "an edit keeps the fields it does not set");
        assert_eq!(find(&lists[1], &m.assessment)["total"], 27);
        let activity = find(&lists[2], &m.activity);
        assert_eq!((&activity["minutes"], &activity["name"]), (&Value::from(45), &Value::from("walk")));
        assert_eq!(activity["note"], format!("edited on {editor}"));
        assert_eq!(find(&lists[3], &m.schedule)["at"], "08:15");
    }

    // Delete: device i deletes the spares device i+1 made, and its own edited assessment.
    for (i, device) in devices.iter().enumerate() {
        let theirs = &made[(i + 1) % count];
        device.run(&["mood", "delete", &theirs.spare_mood]);
        device.run(&["assessment", "delete", &theirs.spare_assessment]);
        device.run(&["schedule", "delete", &theirs.spare_schedule]);
        device.run(&["activity", "delete", &theirs.spare_activity]);
        device.run(&["assessment", "delete", &made[i].assessment]);
    }
    // The devices sync at the same moment, then in turn.
    sync_concurrently(&all);
    sync_all(&all, 2);
    let lists = assert_converged(&all);
    for m in &made {
        assert!(is_deleted(find(&lists[0], &m.spare_mood)));
        assert!(!is_deleted(find(&lists[0], &m.mood)));
        assert!(is_deleted(find(&lists[1], &m.spare_assessment)));
        assert!(is_deleted(find(&lists[1], &m.assessment)));
        assert!(is_deleted(find(&lists[2], &m.spare_activity)));
        assert!(!is_deleted(find(&lists[2], &m.activity)));
        assert!(is_deleted(find(&lists[3], &m.spare_schedule)));
        assert!(!is_deleted(find(&lists[3], &m.schedule)));
    }
    let live = [count, 0, count, count];
    for (k, kind) in KINDS.iter().enumerate() {
        assert_eq!(lists[k].len(), 2 * count, "deleted {kind}s are still listed with --include-deleted");
        assert_eq!(count_live(&lists[k]), live[k], "live {kind}s");
        for device in &devices {
            let out = device.run(&[kind, "list", "--json"]);
            let listed: Vec<Value> = serde_json::from_str(&out).unwrap();
            assert_eq!(listed.len(), live[k], "[{}] {kind} list without --include-deleted", device.name);
        }
    }
    for device in &devices {
        let status = device.status();
        assert_eq!(status["enabled"], true);
        assert_eq!(status["pending"], 0, "[{}] nothing left to upload: {status}", device.name);
        assert_eq!(status["quarantined"], serde_json::json!([]), "[{}] {status}", device.name);
    }
    devices
}

fn two_devices_converge(server: Server) {
    every_kind_converges(&server, &["laptop", "phone"]);
}

fn three_devices_converge(server: Server) {
    let devices = every_kind_converges(&server, &["laptop", "phone", "tablet"]);
    let (laptop, phone, tablet) = (&devices[0], &devices[1], &devices[2]);

    // Every device sees the account's three devices, itself marked current.
    let device_id = |d: &Device| d.status()["device_id"].as_str().expect("sync status names the device").to_owned();
    let ids: Vec<String> = devices.iter().map(device_id).collect();
    for (device, id) in devices.iter().zip(&ids) {
        let listed: Vec<Value> = serde_json::from_str(&device.run(&["devices", "list", "--json"])).unwrap();
        let mut listed_ids: Vec<&str> = listed.iter().map(|d| d["id"].as_str().unwrap()).collect();
        listed_ids.sort_unstable();
        let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(listed_ids, expected, "[{}] {listed:#?}", device.name);
        let current: Vec<&Value> = listed.iter().filter(|d| d["current"] == true).collect();
        assert_eq!(current.len(), 1, "[{}] {listed:#?}", device.name);
        assert_eq!(current[0]["id"], id.as_str());
    }

    // A lost tablet is revoked from the laptop: it can no longer sync, the others can.
    laptop.run(&["devices", "revoke", &ids[2]]);
    tablet.add_mood(1, "written on the lost tablet");
    let error = tablet.run_fail(&["sync", "now", "--json"]);
    assert!(error.contains("no longer signed in"), "{error}");
    let listed: Vec<Value> = serde_json::from_str(&phone.run(&["devices", "list", "--json"])).unwrap();
    let revoked = listed.iter().find(|d| d["id"] == ids[2].as_str()).unwrap();
    assert!(!revoked["revoked_at"].is_null(), "{listed:#?}");
    phone.add_mood(7, "after the revocation");
    sync_all(&[laptop, phone], 2);
    assert_converged(&[laptop, phone]);
    let moods = laptop.list("mood");
    assert!(moods.iter().any(|m| m["note"] == "after the revocation"));
    assert!(moods.iter().all(|m| m["note"] != "written on the lost tablet"), "the revoked device uploaded nothing");

    // The revoked tablet can still turn sync off, as its error says, and keeps its entries.
    let before = tablet.snapshot();
    tablet.run(&["sync", "disable"]);
    assert_eq!(tablet.status()["enabled"], false);
    assert_eq!(tablet.snapshot(), before);
    assert!(tablet.list("mood").iter().any(|m| m["note"] == "written on the lost tablet"));
}

// ---------------------------------------------------------------------------
// 2. Conflicts: the last edit wins everywhere; a delete beats any edit
// ---------------------------------------------------------------------------

fn conflicting_offline_edits_converge_and_deletes_win(server: Server) {
    let account = account_name();
    let (a, b, c) = (Device::new("a"), Device::new("b"), Device::new("c"));
    let all = [&a, &b, &c];
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    c.enable(&server, &account, false);

    let m1 = a.add_mood(5, "m1");
    let m2 = a.add_mood(5, "m2");
    let m3 = a.add_mood(5, "m3");
    let activity = a.add_activity("read");
    let assessment = a.add_assessment("gad7", "0,0,0,0,0,0,0");
    let schedule = a.add_schedule(&activity, "daily", "07:00");
    let d1 = a.add_mood(5, "d1: deleted on a, then edited on b and c");
    let d2 = a.add_mood(5, "d2: edited on b, then deleted on c");
    let d3 = a.add_activity("d3: deleted on a and c, edited on b in between");
    sync_all(&all, 1);
    assert_converged(&all);

    // Offline, in this order in time (each edit is a process of its own, so
    // each is stamped later than the one before it).
    a.run(&["mood", "edit", &m1, "--score", "2", "--note", "m1 by a"]);
    b.run(&["mood", "edit", &m1, "--score", "3", "--note", "m1 by b"]);
    c.run(&["mood", "edit", &m1, "--score", "4", "--note", "m1 by c"]);
    c.run(&["mood", "edit", &m2, "--score", "6", "--note", "m2 by c"]);
    b.run(&["mood", "edit", &m2, "--score", "7", "--note", "m2 by b"]);
    a.run(&["mood", "edit", &m2, "--score", "8", "--note", "m2 by a"]);
    b.run(&["mood", "edit", &m3, "--note", "m3 by b, first"]);
    a.run(&["mood", "edit", &m3, "--note", "m3 by a"]);
    b.run(&["mood", "edit", &m3, "--note", "m3 by b, again"]);
    a.run(&["activity", "edit", &activity, "--name", "read by a"]);
    c.run(&["activity", "edit", &activity, "--name", "read by c"]);
    b.run(&["assessment", "edit", &assessment, "--answers", "1,1,1,1,1,1,1"]);
    a.run(&["assessment", "edit", &assessment, "--answers", "2,2,2,2,2,2,2"]);
    c.run(&["schedule", "edit", &schedule, "--at", "08:00"]);
    a.run(&["schedule", "edit", &schedule, "--at", "09:00"]);
    a.run(&["mood", "delete", &d1]);
    b.run(&["mood", "edit", &d1, "--note", "d1 by b after a deleted it"]);
    c.run(&["mood", "edit", &d1, "--score", "1"]);
    b.run(&["mood", "edit", &d2, "--note", "d2 by b before c deleted it"]);
    c.run(&["mood", "delete", &d2]);
    a.run(&["activity", "delete", &d3]);
    b.run(&["activity", "edit", &d3, "--name", "d3 by b"]);
    c.run(&["activity", "delete", &d3]);

    // Each device meets the versions in a different order.
    for order in [[&c, &a, &b], [&b, &c, &a]] {
        for device in order {
            device.sync();
        }
    }
    let lists = assert_converged(&all);
    let (moods, assessments, activities, schedules) = (&lists[0], &lists[1], &lists[2], &lists[3]);
    let mood = |id: &str| {
        let m = find(moods, id);
        (m["score"].clone(), m["note"].clone())
    };
    assert_eq!(mood(&m1), (Value::from(4), Value::from("m1 by c")), "the last edit (c) wins");
    assert_eq!(mood(&m2), (Value::from(8), Value::from("m2 by a")), "the last edit (a) wins");
    assert_eq!(mood(&m3), (Value::from(5), Value::from("m3 by b, again")), "the last edit (b's second) wins");
    assert_eq!(find(activities, &activity)["name"], "read by c");
    assert_eq!(find(assessments, &assessment)["total"], 14);
    assert_eq!(find(schedules, &schedule)["at"], "09:00");
    for id in [&d1, &d2] {
        assert!(is_deleted(find(moods, id)), "the delete of {id} wins over the concurrent edits");
    }
    assert!(is_deleted(find(activities, &d3)));

    // A delete is final: editing or deleting again fails, on every device.
    for device in all {
        for id in [&d1, &d2] {
            let error = device.run_fail(&["mood", "edit", id, "--score", "9"]);
            assert!(error.contains("deleted"), "[{}] {error}", device.name);
        }
        let error = device.run_fail(&["activity", "edit", &d3, "--name", "back"]);
        assert!(error.contains("deleted"), "[{}] {error}", device.name);
        device.run_fail(&["mood", "delete", &d1]);
    }
    // And more syncs change nothing: nothing comes back.
    for order in [[&a, &b, &c], [&c, &b, &a]] {
        for device in order {
            let summary = device.sync();
            assert_eq!((n(&summary["pushed"]), n(&summary["applied"])), (0, 0), "[{}] {summary}", device.name);
        }
    }
    assert_eq!(assert_converged(&all), lists);
}

/// The issue a person hit: offline, A changed a mood's score and B its note;
/// after syncing, both edits must be there. Two edits of the same field: the
/// later wins everywhere and the other is kept in the conflict log, from which
/// it can be restored as a new edit or dismissed.
fn concurrent_edits_to_different_fields_both_survive_and_a_lost_edit_is_kept(server: Server) {
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    let both = a.add_mood(5, "base");
    let same = a.add_mood(5, "same field");
    sync_all(&[&a, &b], 1);

    a.run(&["mood", "edit", &both, "--score", "2"]);
    b.run(&["mood", "edit", &both, "--note", "edited on B"]);
    a.run(&["mood", "edit", &same, "--score", "3"]);
    b.run(&["mood", "edit", &same, "--score", "9"]);
    // An edit that changes nothing queues nothing and outranks nothing.
    let output = a.output(&["mood", "edit", &both, "--score", "2"], None);
    assert!(text(&output.stderr).contains("nothing changed"), "{}", text(&output.stderr));
    assert_eq!(a.status()["pending"], 2);

    let summaries = sync_all(&[&a, &b, &a], 1);
    let lists = assert_converged(&[&a, &b]);
    let moods = &lists[0];
    assert_eq!(
        (find(moods, &both)["score"].clone(), find(moods, &both)["note"].clone()),
        (2.into(), "edited on B".into())
    );
    assert_eq!(find(moods, &same)["score"], 9, "the later edit of the score wins");
    // Each device logged the score that lost, and said so.
    assert_eq!(n(&summaries[1]["conflicts"]) + n(&summaries[2]["conflicts"]), 2, "{summaries:?}");
    for device in [&a, &b] {
        let conflicted = &device.status()["conflicts"];
        assert_eq!(conflicted, &serde_json::json!([{ "kind": "mood", "record_id": same, "conflicts": 1 }]));
        let log: Vec<Value> = serde_json::from_str(&device.run(&["mood", "conflicts", &same, "--json"])).unwrap();
        assert_eq!(log.len(), 1, "[{}] {log:#?}", device.name);
        assert_eq!(
            (log[0]["group"].clone(), log[0]["fields"].clone()),
            ("score".into(), serde_json::json!({ "score": 3 }))
        );
        let text = device.run(&["mood", "conflicts", &same]);
        assert!(text.contains("score: score=3"), "[{}] {text}", device.name);
        assert!(device.run(&["mood", "conflicts", &both]).contains("no conflicts"));
    }

    // A restores its lost score: a new edit that wins everywhere, with no new conflict.
    let log: Vec<Value> = serde_json::from_str(&a.run(&["mood", "conflicts", &same, "--json"])).unwrap();
    a.run(&["mood", "restore", &same, &log[0]["id"].to_string()]);
    let summaries = sync_all(&[&a, &b], 2);
    assert!(summaries.iter().all(|s| n(&s["conflicts"]) == 0), "{summaries:?}");
    let moods = &assert_converged(&[&a, &b])[0];
    assert_eq!(find(moods, &same)["score"], 3);
    assert_eq!(find(moods, &same)["note"], "same field");
    assert_eq!(a.status()["conflicts"], serde_json::json!([]));
    // B dismisses its entry; a wrong number is refused.
    let log: Vec<Value> = serde_json::from_str(&b.run(&["mood", "conflicts", &same, "--json"])).unwrap();
    b.run_fail(&["mood", "dismiss", &same, "999999"]);
    b.run(&["mood", "dismiss", &same, &log[0]["id"].to_string()]);
    assert_eq!(b.status()["conflicts"], serde_json::json!([]));
    assert_eq!(find(&b.list("mood"), &same)["score"], 3, "dismissing changes no record");
}

// ---------------------------------------------------------------------------
// 3. Syncing again changes nothing; a cut-off sync loses and duplicates nothing
// ---------------------------------------------------------------------------

/// How a round cuts a sync off.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// The server does the work of the `n`th request of the kind (a push
    /// batch, a pull page), then is SIGKILLed before its answer reaches the device.
    AfterTheServerAnswered(usize),
    /// The server is SIGKILLed this long after the device's `sync now` starts.
    KillServerAfter(u64),
    /// The device's own `sync now` process is SIGKILLed this long after it starts.
    KillDeviceAfter(u64),
}

/// Runs `sync now` on `device` and cuts it off as `cut` says, then restarts
/// the server if it was killed. Returns the server's counter while it was
/// down after an [`Cut::AfterTheServerAnswered`] cut.
fn cut_off_sync(device: &Device, server: &mut Server, proxy: &Proxy, cut: Cut, request: &'static str) -> Option<i64> {
    let args = ["sync", "now", "--json"];
    let mut seq_at_cut = None;
    let running = match cut {
        Cut::AfterTheServerAnswered(nth) => {
            proxy.cut_nth(request, nth);
            let running = device.spawn(&args);
            assert!(proxy.wait_cut(Duration::from_secs(60)), "[{}] the {request} was never cut", device.name);
            server.kill();
            seq_at_cut = Some(server.db.account_seq());
            running
        }
        Cut::KillServerAfter(ms) => {
            let running = device.spawn(&args);
            std::thread::sleep(Duration::from_millis(ms));
            server.kill();
            running
        }
        Cut::KillDeviceAfter(ms) => {
            let running = device.spawn(&args);
            std::thread::sleep(Duration::from_millis(ms));
            // Our own child, by its id.
            std::process::Command::new("kill").args(["-KILL", &running.id().to_string()]).status().unwrap();
            let _ = wait_output(running, &args);
            return None;
        }
    };
    server.restart();
    proxy.open();
    // The cut-off run may recover by itself (it retries) or fail; if it fails, it says so in one sentence.
    let output = wait_output(running, &args);
    let said = serde_json::from_slice::<Value>(&output.stdout).map_or_else(|_| text(&output.stderr), |v| v.to_string());
    eprintln!("[{:?}] {} cut off ({cut:?}): {} {said}", server.backend, device.name, output.status);
    if !output.status.success() {
        expect_failure(device.name, &args, &output);
    }
    seq_at_cut
}

fn repeated_and_interrupted_syncs_lose_and_duplicate_nothing(mut server: Server) {
    let account = account_name();
    let proxy = Proxy::new(&server);
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable_at(&proxy.url, &account, true);
    b.enable_at(&proxy.url, &account, false);

    // Some history, all written on a (so the server keeps one envelope per record).
    let made = make_one_of_each(&a, 0);
    a.run(&["mood", "edit", &made.mood, "--note", "edited"]);
    a.run(&["mood", "delete", &made.spare_mood]);
    a.run(&["schedule", "delete", &made.spare_schedule]);
    sync_all(&[&a, &b], 2);
    let settled = assert_converged(&[&a, &b]);

    // Nothing new: a sync transfers nothing and changes nothing.
    for device in [&a, &b, &a, &b] {
        let summary = device.sync();
        for field in ["pushed", "pulled", "applied", "quarantined"] {
            assert_eq!(n(&summary[field]), 0, "[{}] {field} with nothing new: {summary}", device.name);
        }
        let status = device.status();
        assert_eq!(status["pending"], 0, "{status}");
        assert_eq!(
            status["cursor"],
            server.db.account_seq(),
            "[{}] pulled up to the server's last change",
            device.name
        );
    }
    assert_eq!(assert_converged(&[&a, &b]), settled);

    // Cut-off syncs. Each round a writes entries (and edits and deletes a
    // few older ones) and syncs, and the sync is cut off; a syncs again. Then
    // b pulls, is cut off, and pulls again. The first round is large enough
    // for several push batches (500) and pull pages (1000): its second batch
    // and second page are the ones whose answers are lost.
    let rounds = [
        (1100, Cut::AfterTheServerAnswered(2), Cut::AfterTheServerAnswered(2)),
        (75, Cut::AfterTheServerAnswered(1), Cut::KillDeviceAfter(20)),
        (75, Cut::KillServerAfter(0), Cut::KillServerAfter(0)),
        (75, Cut::KillServerAfter(30), Cut::KillServerAfter(30)),
    ];
    let mut moods: Vec<String> = Vec::new();
    let mut starts = Vec::new();
    for (round, (size, cut_a, cut_b)) in rounds.into_iter().enumerate() {
        starts.push(moods.len());
        for i in 0..size {
            moods.push(a.add_mood((i % 10 + 1) as u8, &format!("round {round}, entry {i}")));
        }
        if round > 0 {
            let previous = starts[round - 1];
            for id in &moods[previous..previous + 5] {
                a.run(&["mood", "edit", id, "--note", &format!("edited in round {round}")]);
            }
            for id in &moods[previous + 5..previous + 10] {
                a.run(&["mood", "delete", id]);
            }
        }
        let pending = n(&a.status()["pending"]);
        let seq_before = server.db.account_seq();

        if let Some(seq_at_cut) = cut_off_sync(&a, &mut server, &proxy, cut_a, "POST /v1/sync/push") {
            let stored = seq_at_cut - seq_before;
            assert!(stored > 0, "round {round}: the server had stored the push whose answer was lost");
        }
        let summary = a.sync();
        assert_eq!(a.status()["pending"], 0, "round {round}: everything is uploaded after the retry: {summary}");
        assert_eq!(
            (server.db.account_seq() - seq_before) as u64,
            pending,
            "round {round}: each of the {pending} changes was stored exactly once ({cut_a:?})"
        );

        cut_off_sync(&b, &mut server, &proxy, cut_b, "GET /v1/sync/pull");
        b.sync();
        let lists = assert_converged(&[&a, &b]);
        assert_eq!(lists[0].len(), settled[0].len() + moods.len(), "round {round}: every mood arrived exactly once");
    }
    sync_all(&[&a, &b], 1);
    let lists = assert_converged(&[&a, &b]);
    let total_moods = settled[0].len() + moods.len();
    assert_eq!(lists[0].len(), total_moods, "every mood arrived exactly once");
    assert_eq!(count_live(&lists[0]), total_moods - 1 - 5 * (rounds.len() - 1));
    for round in 1..rounds.len() {
        let edited = find(&lists[0], &moods[starts[round - 1]]);
        assert_eq!(edited["note"], format!("edited in round {round}"));
    }
    for device in [&a, &b] {
        let status = device.status();
        assert_eq!(status["pending"], 0, "[{}] {status}", device.name);
        assert_eq!(status["quarantined"], serde_json::json!([]), "[{}] {status}", device.name);
    }
    let records: usize = lists.iter().map(Vec::len).sum();
    assert_eq!(server.db.envelope_rows(), records as i64, "the server holds one envelope per record");
    assert_eq!(server.db.distinct_records(), records as i64);

    // Turning sync off keeps every entry; turning it on again re-uploads them
    // all as a new device, and edits made while that sync runs are not lost.
    assert_eq!(server.db.revoked_devices(), 0);
    a.run(&["sync", "disable"]);
    assert_eq!(a.status()["enabled"], false);
    assert_eq!(server.db.revoked_devices(), 1, "turning sync off revokes the device's token on the server");
    assert!(!a.dir().join("keys.json").exists(), "and forgets the key file");
    assert_eq!(a.snapshot(), lists, "turning sync off keeps every entry");
    a.enable_at(&proxy.url, &account, false);
    assert_eq!(n(&a.status()["pending"]), records as u64, "every entry is queued again");
    let live: Vec<String> =
        lists[0].iter().filter(|m| m["deleted_at"].is_null()).map(|m| id_of(m).to_owned()).take(20).collect();
    let syncing = a.spawn(&["sync", "now", "--json"]);
    for (i, id) in live.iter().enumerate() {
        a.run(&["mood", "edit", id, "--note", &format!("edited while syncing, {i}")]);
    }
    let output = wait_output(syncing, &["sync", "now", "--json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    sync_all(&[&a, &b], 2);
    let lists = assert_converged(&[&a, &b]);
    for (i, id) in live.iter().enumerate() {
        assert_eq!(find(&lists[0], id)["note"], format!("edited while syncing, {i}"));
    }
    assert_eq!(lists.iter().map(Vec::len).sum::<usize>(), records, "re-enrolling duplicated nothing");
    for device in [&a, &b] {
        let status = device.status();
        assert_eq!(status["pending"], 0, "[{}] {status}", device.name);
        assert_eq!(status["quarantined"], serde_json::json!([]), "[{}] {status}", device.name);
    }
}

// ---------------------------------------------------------------------------
// 4. Refusals: a wrong passphrase; a tampered envelope
// ---------------------------------------------------------------------------

fn wrong_passphrase_is_refused_before_any_upload(server: Server) {
    let account = account_name();
    let a = Device::new("a");
    a.enable(&server, &account, true);
    a.add_mood(6, "on a");
    a.sync();
    let (envelopes, devices) = (server.db.envelope_rows(), server.db.device_rows());
    assert_eq!((envelopes, devices), (1, 1));

    // b has entries of its own before it tries to join.
    let b = Device::new("b");
    let own = b.add_mood(2, "written on b before joining");
    let own_activity = b.add_activity("written on b before joining");
    let before = b.snapshot();

    let args = ["sync", "enable", "--passphrase-stdin"];
    let refused = b.try_enable(&server, &account, "not the passphrase at all", false);
    let error = expect_failure("b", &args, &refused);
    assert!(error.contains("wrong passphrase"), "{error}");
    assert_eq!(server.db.envelope_rows(), envelopes, "nothing was uploaded");
    assert_eq!(server.db.device_rows(), devices, "no device was registered");
    let status = b.status();
    assert_eq!(status["enabled"], false, "{status}");
    let error = b.run_fail(&["sync", "now", "--json"]);
    assert!(error.contains("not enabled"), "{error}");
    assert_eq!(server.db.envelope_rows(), envelopes);
    assert_eq!(b.snapshot(), before, "b's own entries are untouched");

    // A misspelt account is refused the same way, and uploads nothing either.
    let refused = b.try_enable(&server, &account_name(), PASSPHRASE, false);
    let error = expect_failure("b", &args, &refused);
    assert!(error.contains("wrong passphrase"), "{error}");
    assert_eq!((server.db.envelope_rows(), server.db.device_rows()), (envelopes, devices));

    // With the right passphrase b joins, and its own entries go up with it.
    b.enable(&server, &account, false);
    sync_all(&[&b, &a], 1);
    b.sync();
    let lists = assert_converged(&[&a, &b]);
    assert_eq!(lists[0].len(), 2);
    assert_eq!(find(&lists[0], &own)["note"], "written on b before joining");
    assert_eq!(find(&lists[2], &own_activity)["name"], "written on b before joining");
    assert_eq!(server.db.envelope_rows(), envelopes + 2);
}

fn tampered_envelope_is_quarantined_and_the_rest_applies(server: Server) {
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable(&server, &account, true);
    b.enable(&server, &account, false);
    let own = b.add_mood(1, "b's own entry");
    b.sync();
    a.sync();

    let ids: Vec<String> = (1..=5).map(|i| a.add_mood(i, &format!("entry {i} from a"))).collect();
    a.sync();
    let on_a = a.snapshot();
    let seq = server.db.tamper_newest_envelope();

    let summary = b.sync();
    assert_eq!(n(&summary["quarantined"]), 1, "the tampered envelope is reported: {summary}");
    assert_eq!(n(&summary["applied"]), 4, "the rest applies: {summary}");
    let status = b.status();
    let quarantined = status["quarantined"].as_array().unwrap_or_else(|| panic!("{status}"));
    assert_eq!(quarantined.len(), 1, "{status}");
    assert_eq!(quarantined[0]["server_seq"], seq, "{status}");

    // b has every intact entry exactly as a has it, its own untouched, and not the tampered one.
    let moods = b.list("mood");
    assert_eq!(moods.len(), 5, "{moods:#?}");
    assert_eq!(find(&moods, &own)["note"], "b's own entry");
    let missing: Vec<&String> = ids.iter().filter(|id| !moods.iter().any(|m| id_of(m) == id.as_str())).collect();
    assert_eq!(missing.len(), 1, "exactly the tampered entry is missing on b: {missing:?}");
    for id in ids.iter().filter(|id| *id != missing[0]) {
        assert_eq!(find(&moods, id), find(&on_a[0], id));
    }
    // a's data is intact, and a's next sync is unaffected.
    let summary = a.sync();
    assert_eq!(n(&summary["quarantined"]), 0, "{summary}");
    assert_eq!(a.snapshot(), on_a);

    // Sync goes on working: a newer version from a replaces the tampered one.
    a.run(&["mood", "edit", missing[0], "--note", "written again"]);
    a.sync();
    let summary = b.sync();
    assert_eq!((n(&summary["applied"]), n(&summary["quarantined"])), (1, 0), "{summary}");
    let lists = assert_converged(&[&a, &b]);
    assert_eq!(find(&lists[0], missing[0])["note"], "written again");

    // The server puts an older version of an entry back (a rollback): b
    // sets it aside and keeps the newer one.
    let (old_seq, old_envelope) = server.db.envelope_of(&ids[0]);
    a.run(&["mood", "edit", &ids[0], "--note", "the newer version"]);
    a.sync();
    b.sync();
    let rolled_back = server.db.roll_back(&ids[0], old_seq, old_envelope);
    let summary = b.sync();
    assert_eq!((n(&summary["applied"]), n(&summary["quarantined"])), (0, 1), "{summary}");
    let status = b.status();
    let quarantined = status["quarantined"].as_array().unwrap();
    assert_eq!(quarantined.len(), 2, "{status}");
    assert_eq!(quarantined[1]["server_seq"], rolled_back, "{status}");
    assert_eq!(find(&b.list("mood"), &ids[0])["note"], "the newer version");
    assert_eq!(find(&a.list("mood"), &ids[0])["note"], "the newer version");
}

// ---------------------------------------------------------------------------
// 5. What is written in the journal never reaches the server readably
// ---------------------------------------------------------------------------

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn files_under(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    all
}

fn journal_content_never_reaches_the_server(server: Server) {
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let marker = |what: &str| format!("MARK{}{what}", &unique[..12]);
    let passphrase = format!("passphrase {}", marker("pass"));
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    let enabled = a.try_enable(&server, &account, &passphrase, true);
    assert!(enabled.status.success(), "{}", text(&enabled.stderr));

    let mood = a.add(&["mood", "add", "--score", "3", "--note", &marker("moodnote"), "--tag", &marker("tag")]);
    let activity = a.add(&[
        "activity",
        "add",
        "--name",
        &marker("activityname"),
        "--category",
        &marker("category"),
        "--note",
        &marker("activitynote"),
    ]);
    a.add_schedule(&activity, "tue,thu", "06:45");
    a.add_assessment("phq9", "1,1,1,1,1,1,1,1,1");
    let doomed = a.add_mood(4, &marker("deletednote"));
    a.sync();
    a.run(&["mood", "edit", &mood, "--note", &marker("editednote")]);
    a.run(&["mood", "delete", &doomed]);
    a.sync();

    let joined = b.try_enable(&server, &account, &passphrase, false);
    assert!(joined.status.success(), "{}", text(&joined.stderr));
    b.add_mood(8, &marker("fromb"));
    b.sync();
    a.sync();
    let lists = assert_converged(&[&a, &b]);
    assert_eq!(find(&lists[0], &mood)["note"], marker("editednote"));

    // The search does find what is there: the markers are on the devices,
    // and the account name (which the server does store) is in its database.
    let device_files = files_under(a.dir());
    assert!(contains(&device_files, marker("fromb").as_bytes()), "the search can see a device's journal");
    let stored = server.db.everything();
    assert!(contains(&stored, account.as_bytes()), "the search can see the server's database");
    let log = server.log();
    assert!(log.contains("listening"), "the server's log was captured: {log}");

    let names =
        ["moodnote", "tag", "activityname", "category", "activitynote", "deletednote", "editednote", "fromb", "pass"];
    let stored_lower = String::from_utf8_lossy(&stored).to_lowercase();
    for name in names {
        let secret = marker(name);
        let hex = hex::encode(secret.as_bytes());
        assert!(!contains(&stored, secret.as_bytes()), "{secret} is in the server's database");
        assert!(!stored_lower.contains(&hex), "{secret} is in the server's database, hex-encoded");
        assert!(!log.contains(&secret), "{secret} is in the server's log");
        assert!(!log.to_lowercase().contains(&hex), "{secret} is in the server's log, hex-encoded");
    }
    assert!(!contains(&stored, passphrase.as_bytes()) && !log.contains(&passphrase));
}

// ---------------------------------------------------------------------------
// No server needed
// ---------------------------------------------------------------------------

#[test]
fn plain_http_to_another_machine_is_refused() {
    let device = Device::new("laptop");
    device.add_mood(5, "stays here");
    let args = ["sync", "enable", "--server", "http://sync.example.org", "--account", "me@example.org"];
    let mut with_flags = args.to_vec();
    with_flags.extend(["--new", "--passphrase-stdin"]);
    let output = device.output(&with_flags, Some(&format!("{PASSPHRASE}\n")));
    let error = expect_failure(device.name, &with_flags, &output);
    assert!(error.contains("http"), "{error}");
    assert!(error.contains("--allow-insecure-http"), "the message says how to override: {error}");
    assert_eq!(device.status()["enabled"], false);
    assert_eq!(device.list("mood").len(), 1);
}

// ---------------------------------------------------------------------------
// One round trip per incremental sync
// ---------------------------------------------------------------------------

/// The requests a device made through `proxy` since the `from`th, without
/// their query strings.
fn requests_since(proxy: &common::hostile::HostileProxy, from: usize) -> Vec<String> {
    proxy.seen()[from..].iter().map(|r| r.split('?').next().unwrap_or_default().to_owned()).collect()
}

/// PROTOCOL.md §8.2, "The page of a push": an edit then `sync now` is one
/// HTTP request, whether or not another device wrote meanwhile (the push's
/// answer carries what this device has not seen), and a sync with nothing
/// to push is one pull. Counted at a proxy in front of the real server.
fn an_edit_then_a_sync_is_one_request(server: Server) {
    let proxy = common::hostile::HostileProxy::new(&server);
    let account = account_name();
    let (a, b) = (Device::new("a"), Device::new("b"));
    a.enable_at(&proxy.url, &account, true);
    b.enable(&server, &account, false);
    a.sync();

    // Nothing else pending: one push, nothing pulled.
    let from = proxy.seen().len();
    let first = a.add_mood(5, "one request");
    let summary = a.sync();
    assert_eq!(requests_since(&proxy, from), ["POST /v1/sync/push"]);
    assert_eq!((n(&summary["pushed"]), n(&summary["pulled"])), (1, 0), "{summary}");

    // B wrote meanwhile: the same one push carries A's edit up and B's down.
    b.sync();
    let from_b = b.add_mood(3, "from b");
    b.sync();
    let from = proxy.seen().len();
    let from_a = a.add_mood(7, "from a");
    let summary = a.sync();
    assert_eq!(requests_since(&proxy, from), ["POST /v1/sync/push"]);
    assert_eq!((n(&summary["pushed"]), n(&summary["pulled"]), n(&summary["applied"])), (1, 1, 1), "{summary}");
    assert_eq!(a.show("mood", &from_b)["note"], "from b");

    // Nothing to push: one pull, which brings B's next edit.
    b.run(&["mood", "edit", &first, "--note", "edited on b"]);
    b.sync();
    let from = proxy.seen().len();
    let summary = a.sync();
    assert_eq!(requests_since(&proxy, from), ["GET /v1/sync/pull"]);
    assert_eq!(n(&summary["applied"]), 1, "{summary}");
    assert_eq!(a.show("mood", &first)["note"], "edited on b");

    b.sync();
    assert_converged(&[&a, &b]);
    assert_eq!(b.show("mood", &from_a)["note"], "from a");
}
