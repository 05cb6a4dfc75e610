//! Measures the fleet simulator against a running broker: `fleet_scale [NODES]
//! [SECONDS] [PORT]` (defaults 2000, 30, 1883) runs the fleet at a 10 s interval on
//! 127.0.0.1 and prints readings produced and acknowledged, resident memory per node
//! and the CPU the process used.

use std::time::{Duration, Instant};

use veghe_fleet_sim::{Faults, SimConfig, SimStats};

/// Resident set size, KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// User + system CPU seconds of this process (clock ticks of 1/100 s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let nodes: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let seconds: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(30);
    let port: u16 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1883);
    let rss_before = rss_kib();
    let fleet = veghe_fleet_sim::fleet(nodes, 6);
    let stats = SimStats::new(nodes);
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let config = SimConfig {
        broker_host: "127.0.0.1".into(),
        broker_port: port,
        interval: Duration::from_secs(10),
        client_prefix: format!("scale-{}-", std::process::id()),
        username: None,
        password: None,
        faults: Faults::default(),
        reconnect_max: Duration::from_secs(30),
    };
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let task = tokio::spawn(veghe_fleet_sim::run(config, fleet, stats.clone(), stop_rx));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu, wall, rss) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64(), rss_kib());
    let _ = stop.send(true);
    task.await??;
    println!(
        "{nodes} nodes, {wall:.0} s: {} payloads produced, {} acknowledged; RSS {} MiB \
         ({:.1} KiB/node over the idle process); CPU {:.1} % of one core",
        stats.total_produced(),
        stats.total_acknowledged(),
        rss / 1024,
        (rss.saturating_sub(rss_before)) as f64 / nodes as f64,
        100.0 * cpu / wall
    );
    Ok(())
}
