//! How the machine's CPU split over a workload, from `/proc`: this process
//! (the clients), the server process, everything else (the database, the
//! kernel's own threads) and idle, as shares of all cores' time. Clients and
//! server share the cores here, so a throughput figure means little without
//! it. Linux only; elsewhere `None`.

/// A reading of the counters, in the kernel's clock ticks.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    clients: u64,
    server: u64,
    busy: u64,
    total: u64,
}

/// Shares of all cores' time over a workload, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Split {
    pub clients: f64,
    pub server: f64,
    /// Busy outside both processes: the database server, mostly.
    pub other: f64,
    pub idle: f64,
}

/// User plus system ticks of a process (`/proc/PID/stat` fields 14 and 15).
fn process_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it do not.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Busy and total ticks of all cores (`/proc/stat`'s `cpu` line; idle and iowait are not busy).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> =
        stat.lines().next()?.strip_prefix("cpu ")?.split_whitespace().filter_map(|t| t.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle, total))
}

/// Reads the counters now.
pub fn read(server_pid: u32) -> Option<Reading> {
    let (busy, total) = machine_ticks()?;
    Some(Reading { clients: process_ticks("self")?, server: process_ticks(&server_pid.to_string())?, busy, total })
}

/// The split between two readings.
pub fn split(before: Reading, after: Reading) -> Option<Split> {
    let total = after.total.checked_sub(before.total).filter(|&t| t > 0)? as f64;
    let clients = after.clients.saturating_sub(before.clients) as f64;
    let server = after.server.saturating_sub(before.server) as f64;
    let busy = after.busy.saturating_sub(before.busy) as f64;
    let share = |ticks: f64| 100.0 * ticks / total;
    Some(Split {
        clients: share(clients),
        server: share(server),
        other: share((busy - clients - server).max(0.0)),
        idle: share(total - busy),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_the_machine_are_readable_and_add_up() {
        if !cfg!(target_os = "linux") {
            return;
        }
        // Init stands in for the server: another process, readable by anyone.
        let before = read(1).unwrap();
        // Burn some CPU so the reading moves.
        let mut x = 0u64;
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_millis(200) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let split = split(before, read(1).unwrap()).unwrap();
        let sum = split.clients + split.server + split.other + split.idle;
        assert!((sum - 100.0).abs() < 1.0, "{split:?}");
        assert!(split.clients > 0.0, "{split:?}");
    }
}
