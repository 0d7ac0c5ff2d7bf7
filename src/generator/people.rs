//! Managers with their diligence, QC operators, lead arrival times and contact data.

use super::clock::{Clock, MINUTE_MS};
use super::knobs::{ARRIVAL_BY_HOUR, MANAGERS_PER_QC};
use super::rng::{Rng, derive, fnv1a, mix};

/// A sales manager and how carefully they follow the regulation.
#[derive(Clone, Debug, PartialEq)]
pub struct ManagerProfile {
    /// `m01`, `m02`, … (zero-padded to the width of the largest number, at least two digits).
    pub id: String,
    /// 0.3 (sloppy) ..= 1.0 (diligent); drives every behaviour below.
    pub diligence: f64,
}

impl ManagerProfile {
    /// Chance of not dialing a given lead at all on a business day: 0.8·(1−d)^1.5
    /// (≈ 0.47 at d = 0.3, ≈ 0.09 at d = 0.8, 0 at d = 1).
    pub(crate) fn skip_day(&self) -> f64 {
        0.8 * (1.0 - self.diligence).powf(1.5)
    }

    /// Attempts on a day the lead is dialed: 3–5 with probability min(1, 1.25·d²), else 1–2.
    pub(crate) fn attempts_for_day(&self, rng: &mut Rng) -> u32 {
        let d = self.diligence;
        if rng.chance((1.25 * d * d).min(1.0)) {
            3 + u32::from(rng.chance(0.35 * d)) + u32::from(rng.chance(0.08))
        } else {
            1 + u32::from(rng.chance(0.5))
        }
    }

    /// Attempts without a touch after which the manager rejects: 3 + 15·d², jittered by −1..+2
    /// (3–6 at d = 0.3, 17–20 at d = 1).
    pub(crate) fn reject_after(&self, rng: &mut Rng) -> u32 {
        let base = 3.0 + 15.0 * self.diligence * self.diligence;
        let jitter = rng.range(-1, 3) as f64;
        (base + jitter).round().max(3.0) as u32
    }

    /// Working time from lead creation to the first attempt: usually 0.5–13 min, but late
    /// (15 min – 5 h) with probability 0.05 + 0.5·(1−d)^1.5.
    pub(crate) fn first_delay_ms(&self, rng: &mut Rng) -> i64 {
        if rng.chance(0.05 + 0.5 * (1.0 - self.diligence).powf(1.5)) {
            rng.range(15 * MINUTE_MS, 5 * 60 * MINUTE_MS)
        } else {
            let u = rng.unit();
            MINUTE_MS / 2 + (u * u * (12.5 * MINUTE_MS as f64)) as i64
        }
    }

    /// Chance to reject an unreachable lead once its dialing period is over (else it goes stale).
    pub(crate) fn closes_after_period(&self) -> f64 {
        0.9 * self.diligence
    }
}

/// `count` managers whose diligence spreads from 0.3 to 1.0 (skewed towards diligent:
/// d = 0.3 + 0.7·q^0.55 over evenly spaced ranks q, so about one in seven is sloppy),
/// assigned to ids in a seed-dependent order.
pub(crate) fn managers(seed: u64, count: u32) -> Vec<ManagerProfile> {
    let n = count.max(1) as usize;
    let width = n.to_string().len().max(2);
    let mut rng = Rng::new(derive(seed, 0x4D41_4E41_4745_5253));
    let mut ranks: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        ranks.swap(i, rng.below(i as u64 + 1) as usize);
    }
    ranks
        .into_iter()
        .enumerate()
        .map(|(i, rank)| {
            let diligence = if n == 1 {
                0.85
            } else {
                let q = rank as f64 / (n - 1) as f64;
                let jitter = if rank == 0 || rank == n - 1 {
                    0.0
                } else {
                    (rng.unit() - 0.5) * 0.04
                };
                (0.3 + 0.7 * q.powf(0.55) + jitter).clamp(0.3, 1.0)
            };
            ManagerProfile {
                id: format!("m{:0width$}", i + 1),
                diligence,
            }
        })
        .collect()
}

/// QC operator ids `qc01`, … (one per `MANAGERS_PER_QC` managers, at least one).
pub(crate) fn qc_operators(managers: u32) -> Vec<String> {
    let n = managers.div_ceil(MANAGERS_PER_QC).max(1);
    (1..=n).map(|i| format!("qc{i:02}")).collect()
}

/// Creation instants of `count` leads on local day `idx`, sorted, weighted by `ARRIVAL_BY_HOUR`.
pub(crate) fn arrivals(clock: &Clock, idx: i64, count: u32, rng: &mut Rng, out: &mut Vec<i64>) {
    let day = clock.day(idx);
    // Keep every instant inside its local day, so that days (and so all arrivals) stay ordered.
    let day_end = clock.day(idx + 1).midnight - 1;
    let hours: [(u32, f64); 24] = std::array::from_fn(|h| (h as u32, ARRIVAL_BY_HOUR[h]));
    out.clear();
    for _ in 0..count {
        let hour = rng.weighted(&hours);
        let seconds = hour * 3600 + rng.below(3600) as u32;
        let t = clock.local_ms(day.date, seconds);
        out.push(t.clamp(day.midnight, day_end.max(day.midnight)));
    }
    out.sort_unstable();
}

/// Unique mobile numbers: lead `n` gets 9 digits after `+7 9` from an affine permutation of
/// 0..10⁹ keyed by the seed and the id prefix, so numbers look random but never repeat in a run.
pub(crate) struct PhoneBook {
    a: u64,
    b: u64,
}

const PHONE_SPACE: u64 = 1_000_000_000;

impl PhoneBook {
    pub(crate) fn new(seed: u64, prefix: &str) -> Self {
        let key = mix(seed ^ fnv1a(prefix));
        // Coprime to 10⁹ = 2⁹·5⁹: odd and not a multiple of 5.
        let mut a = (key % PHONE_SPACE) | 1;
        if a % 5 == 0 {
            a = (a + 2) % PHONE_SPACE;
        }
        PhoneBook {
            a,
            b: mix(key) % PHONE_SPACE,
        }
    }

    /// The 9 digits following `+7 9` for lead number `n`.
    pub(crate) fn digits(&self, n: u64) -> u64 {
        ((u128::from(n) * u128::from(self.a) + u128::from(self.b)) % u128::from(PHONE_SPACE)) as u64
    }
}

/// `+7 9XX XXX-XX-XX`, as the CRM stores it.
pub(crate) fn crm_phone(digits: u64) -> String {
    format!(
        "+7 9{:02} {:03}-{:02}-{:02}",
        digits / 10_000_000 % 100,
        digits / 10_000 % 1000,
        digits / 100 % 100,
        digits % 100
    )
}
