//! What one simulated policy achieved: stale reads, ages per window, targets held, calls.

/// Counts of samples per whole minute of age, for one window.
#[derive(Default, Clone)]
pub struct Ages {
    by_minute: Vec<u64>,
    /// Samples of pairs never fetched.
    pub never: u64,
    /// Samples whose age was within the pair's target.
    pub held: u64,
}

impl Ages {
    pub fn record(&mut self, minutes: usize, held: bool) {
        if self.by_minute.len() <= minutes {
            self.by_minute.resize(minutes + 1, 0);
        }
        self.by_minute[minutes] += 1;
        self.held += u64::from(held);
    }

    pub fn samples(&self) -> u64 {
        self.by_minute.iter().sum::<u64>() + self.never
    }

    /// Age at `share` of the samples, in minutes (never-fetched samples count as oldest).
    pub fn percentile(&self, share: f64) -> String {
        let total = self.samples();
        let wanted = (total as f64 * share).ceil() as u64;
        let mut seen = 0;
        for (minutes, count) in self.by_minute.iter().enumerate() {
            seen += count;
            if seen >= wanted && (*count > 0 || seen == total) {
                return minutes.to_string();
            }
        }
        "never".into()
    }

    pub fn held_share(&self) -> f64 {
        100.0 * self.held as f64 / self.samples().max(1) as f64
    }
}

/// One policy's figures.
pub struct Report {
    pub policy: &'static str,
    pub products: u32,
    pub reads: u64,
    pub stale_reads: u64,
    /// Reads and stale reads of today, days 1–6 and days 7–29.
    pub by_nearness: [(u64, u64); 3],
    /// today, 7 days, 30 days.
    pub windows: [Ages; 3],
    /// Samples of any window within their target.
    pub held: u64,
    pub samples: u64,
    pub calls: u64,
    pub rate_limited: u64,
    pub budget: u64,
    /// Oldest age of any open pair seen after warm-up, in minutes.
    pub worst_minutes: usize,
    /// Live reads: each one's wait in seconds and its outcome.
    pub live: Vec<(f64, &'static str)>,
}

pub const WINDOWS: [(&str, u64); 3] = [("today", 1), ("7 days", 7), ("30 days", 30)];

pub fn print(reports: &[Report], hours: u32, rate: u32) {
    println!(
        "\n{hours} simulated hours after warm-up, {rate} calls/min, default jobs; ages in minutes (p50 / p95 / worst)\n"
    );
    println!("| policy | products | stale reads | today | 7 days | 30 days | targets held | never fetched | calls (budget share) | 429s |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for r in reports {
        let ages: Vec<String> = r
            .windows
            .iter()
            .map(|a| {
                format!(
                    "{} / {} / {}",
                    a.percentile(0.5),
                    a.percentile(0.95),
                    a.percentile(1.0)
                )
            })
            .collect();
        println!(
            "| {} | {} | {:.2} % | {} | {} | {} | {:.2} % | {} | {} ({:.1} %) | {} |",
            r.policy,
            r.products,
            100.0 * r.stale_reads as f64 / r.reads.max(1) as f64,
            ages[0],
            ages[1],
            ages[2],
            100.0 * r.held as f64 / r.samples.max(1) as f64,
            r.windows[2].never,
            r.calls,
            100.0 * r.calls as f64 / r.budget.max(1) as f64,
            r.rate_limited,
        );
    }
    for r in reports {
        let stale = |(reads, stale): (u64, u64)| 100.0 * stale as f64 / reads.max(1) as f64;
        println!(
            "{} at {}: oldest pair {:.1} h; targets held per window {:.2} / {:.2} / {:.2} %; \
             stale reads of today / days 1-6 / days 7-29 {:.2} / {:.2} / {:.2} %",
            r.policy,
            r.products,
            r.worst_minutes as f64 / 60.0,
            r.windows[0].held_share(),
            r.windows[1].held_share(),
            r.windows[2].held_share(),
            stale(r.by_nearness[0]),
            stale(r.by_nearness[1]),
            stale(r.by_nearness[2]),
        );
    }
}

/// The live reads of each report: how many, their wait (p50 / p99 / worst, in seconds of
/// simulated time) and how they ended.
pub fn print_live(reports: &[Report]) {
    for r in reports.iter().filter(|r| !r.live.is_empty()) {
        let mut waits: Vec<f64> = r.live.iter().map(|(wait, _)| *wait).collect();
        waits.sort_by(f64::total_cmp);
        let at = |q: f64| waits[((waits.len() - 1) as f64 * q).round() as usize];
        let mut outcomes: Vec<(&str, usize)> = Vec::new();
        for (_, outcome) in &r.live {
            match outcomes.iter_mut().find(|(name, _)| name == outcome) {
                Some((_, count)) => *count += 1,
                None => outcomes.push((outcome, 1)),
            }
        }
        let outcomes: Vec<String> = outcomes
            .iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect();
        println!(
            "{} at {}: {} live reads, wait p50 {:.2} s, p99 {:.2} s, worst {:.2} s; {}",
            r.policy,
            r.products,
            r.live.len(),
            at(0.5),
            at(0.99),
            at(1.0),
            outcomes.join(", ")
        );
    }
}
