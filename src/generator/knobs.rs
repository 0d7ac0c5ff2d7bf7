//! Realism knobs: every share, probability and duration the simulation uses, in one place.

/// Working hours (SPEC §2 defaults), local time, Mon–Fri, no holidays.
pub(crate) const WORK_OPEN_HOUR: i64 = 9;
pub(crate) const WORK_CLOSE_HOUR: i64 = 18;
/// Day 1 of an episode is its start day when it starts at or before 13:00 (SPEC §3).
pub(crate) const DAY1_CUTOFF_SECONDS: i64 = 13 * 3600;
/// Business days in a dialing period (SPEC §3).
pub(crate) const PERIOD_DAYS: u32 = 5;

/// How far before its lead's `created_at` a call may start: a `phone`-channel lead is created
/// while the client's inbound call is already ringing. No record is earlier than this.
pub const MAX_CALL_SKEW_MS: i64 = 90_000;

/// Relative lead arrival rate per local hour 0..23 (every calendar day, weekends included).
pub(crate) const ARRIVAL_BY_HOUR: [f64; 24] = [
    0.25, 0.15, 0.10, 0.08, 0.08, 0.12, 0.25, 0.55, 1.00, 1.60, 1.90, 2.00, //
    1.90, 1.70, 1.80, 1.80, 1.70, 1.50, 1.30, 1.10, 0.90, 0.70, 0.50, 0.35,
];

/// Lead sources with their shares and the chance the form carried an e-mail.
pub(crate) const CHANNELS: [(&str, f64, f64); 4] = [
    ("website", 0.40, 0.60),
    ("paid_ads", 0.30, 0.45),
    ("phone", 0.15, 0.05),
    ("referral", 0.15, 0.30),
];
pub(crate) const EMAIL_DOMAINS: [&str; 5] =
    ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru"];

/// Client reachability: (share of leads, chance an outbound attempt is answered).
pub(crate) const REACH_EASY: (f64, f64) = (0.55, 0.50);
pub(crate) const REACH_HARD: (f64, f64) = (0.37, 0.12);
/// Wrong numbers: never answered, mostly `failed`.
pub(crate) const REACH_WRONG_SHARE: f64 = 0.08;
/// Chance per failed attempt (from the 2nd on) that the manager gives up with "неверный номер".
pub(crate) const WRONG_NUMBER_GIVE_UP: f64 = 0.35;
/// Leads the CRM already had: rejected as "дубль" within hours, after at most one attempt.
pub(crate) const DUPLICATE_LEAD_SHARE: f64 = 0.03;

/// A touch is an answered call longer than this (SPEC §3 default; exactly 30 s is not a touch).
pub(crate) const TOUCH_SECONDS: u32 = 30;
/// Answered outbound call lengths: voicemail / hang-up (3–29 s), exactly 30 s, else 60–900 s.
pub(crate) const ANSWER_SHORT_SHARE: f64 = 0.30;
pub(crate) const ANSWER_EXACT_30_SHARE: f64 = 0.04;
/// Unanswered dispositions: (no_answer, busy, failed) weights; wrong numbers use `WRONG_DISPOSITIONS`.
pub(crate) const MISSED_DISPOSITIONS: [f64; 3] = [0.75, 0.20, 0.05];
pub(crate) const WRONG_DISPOSITIONS: [f64; 3] = [0.35, 0.05, 0.60];
/// Share of outbound attempts placed outside working hours (a few minutes early or late).
pub(crate) const OUTSIDE_HOURS_SHARE: f64 = 0.03;
/// Share of outbound calls dialled by hand on a desk phone: no `lead_id`, phone as `8XXXXXXXXXX`.
pub(crate) const OUTBOUND_UNBOUND_SHARE: f64 = 0.02;

/// Chance per dialing episode that the client calls back on their own.
pub(crate) const INBOUND_CALLBACK_SHARE: f64 = 0.12;
/// Chance an inbound call is answered inside / outside working hours.
pub(crate) const INBOUND_ANSWERED_IN_HOURS: f64 = 0.80;
pub(crate) const INBOUND_ANSWERED_OFF_HOURS: f64 = 0.15;
/// Share of inbound calls the PBX could not bind to a lead (no `lead_id`, phone as the PBX wrote it).
pub(crate) const INBOUND_UNBOUND_SHARE: f64 = 0.35;

/// What a touch (answered, > 30 s) leads to: converted, qualified (`PROCESSED`), not interested
/// (`JUNK`), or "call me later" (dialing continues).
pub(crate) const TOUCH_OUTCOMES: [f64; 4] = [0.22, 0.33, 0.20, 0.25];
/// After `PROCESSED`: the lead goes quiet (stale), converts later, or is rejected later.
pub(crate) const PROCESSED_FOLLOW_UPS: [f64; 3] = [0.50, 0.25, 0.25];
/// When a period ends with a touch but no decision: moved to `PROCESSED`, else left alone.
pub(crate) const TOUCHED_PERIOD_END_PROCESSED: f64 = 0.50;

/// Next business day, QC re-calls a rejected client, then returns the lead to `IN_PROCESS` with
/// another manager (at most once per lead), moves it to the cold base, or leaves it rejected.
pub(crate) const QC_RETURN_SHARE: f64 = 0.20;
pub(crate) const QC_COLD_BASE_SHARE: f64 = 0.10;
pub(crate) const QC_RECALL_SHARE: f64 = 0.70;
/// One QC operator per this many managers (at least one).
pub(crate) const MANAGERS_PER_QC: u32 = 10;

pub(crate) const STAGE_NEW: &str = "NEW";
pub(crate) const STAGE_IN_PROCESS: &str = "IN_PROCESS";
pub(crate) const STAGE_PROCESSED: &str = "PROCESSED";
pub(crate) const STAGE_CONVERTED: &str = "CONVERTED";
pub(crate) const STAGE_JUNK: &str = "JUNK";
/// A custom CRM stage (kind `other`): the cold base QC moves confirmed junk to.
pub(crate) const STAGE_COLD_BASE: &str = "COLD_BASE";

pub(crate) const REASON_NO_ANSWER: &str = "не берет трубку";
pub(crate) const REASON_WRONG_NUMBER: &str = "неверный номер";
pub(crate) const REASON_NOT_INTERESTED: &str = "не интересно";
pub(crate) const REASON_DUPLICATE: &str = "дубль";

pub(crate) const RECORDING_URL_BASE: &str = "https://pbx.example/rec/";
