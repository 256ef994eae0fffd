//! Memory of a child process (the server, or the CLI), sampled from
//! `/proc/PID/status` while it works: resident memory split into anonymous
//! (the heap: what the process itself holds) and file-backed (mostly the
//! SQLite mmap window over the database file, which the kernel can drop at
//! will). A peak of `VmRSS` alone mixes the two. Linux only; elsewhere every
//! figure is `None`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Peaks, in KiB, of one process since the last [`Sampler::reset`].
#[derive(Debug, Default)]
struct Peaks {
    rss: AtomicU64,
    anon: AtomicU64,
    file: AtomicU64,
    /// Whether `/proc/PID/status` was readable at least once.
    seen: AtomicBool,
}

/// Peak resident memory, in MiB.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Memory {
    /// Resident in all (`VmRSS`).
    pub rss_mib: f64,
    /// Anonymous (`RssAnon`): heap and stacks.
    pub anon_mib: f64,
    /// File-backed (`RssFile`): mapped files, the SQLite mmap window among them.
    pub file_mib: f64,
}

/// Polls a process's memory every few milliseconds on its own thread until dropped.
pub struct Sampler {
    peaks: Arc<Peaks>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// One `kB` line of `/proc/PID/status`.
fn field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

impl Sampler {
    /// Starts sampling process `pid`.
    pub fn start(pid: u32) -> Sampler {
        let peaks = Arc::new(Peaks::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peaks, stop) = (peaks.clone(), stop.clone());
            std::thread::spawn(move || {
                let path = format!("/proc/{pid}/status");
                while !stop.load(Ordering::Relaxed) {
                    let Ok(status) = std::fs::read_to_string(&path) else { return };
                    peaks.seen.store(true, Ordering::Relaxed);
                    for (peak, name) in [(&peaks.rss, "VmRSS:"), (&peaks.anon, "RssAnon:"), (&peaks.file, "RssFile:")] {
                        if let Some(kib) = field(&status, name) {
                            peak.fetch_max(kib, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        Sampler { peaks, stop, thread: Some(thread) }
    }

    /// Forgets the peaks so far: the next [`Sampler::peak`] covers what follows.
    pub fn reset(&self) {
        for peak in [&self.peaks.rss, &self.peaks.anon, &self.peaks.file] {
            peak.store(0, Ordering::Relaxed);
        }
    }

    /// The peaks since the start or the last reset.
    pub fn peak(&self) -> Option<Memory> {
        let mib = |kib: &AtomicU64| kib.load(Ordering::Relaxed) as f64 / 1024.0;
        self.peaks.seen.load(Ordering::Relaxed).then(|| Memory {
            rss_mib: mib(&self.peaks.rss),
            anon_mib: mib(&self.peaks.anon),
            file_mib: mib(&self.peaks.file),
        })
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kib_fields_of_proc_status() {
        let status = "Name:\tx\nVmRSS:\t  2048 kB\nRssAnon:\t  1024 kB\nRssFile:\t   512 kB\n";
        assert_eq!(field(status, "VmRSS:"), Some(2048));
        assert_eq!(field(status, "RssAnon:"), Some(1024));
        assert_eq!(field(status, "RssFile:"), Some(512));
        assert_eq!(field(status, "RssShmem:"), None);
    }
}
