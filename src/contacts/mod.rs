//! Leads' contacts: phone resolution of calls without `lead_id` (SPEC §4.8) and duplicate leads.
//!
//! Normalised phones and e-mails, the directory of leads' contacts (kept outside the per-partition
//! engine, fed by its `ContactUpdate`s), and the resolver that binds calls by phone and flags
//! duplicate leads. Pure: no clock, no I/O. Decisions: docs/contacts.md.

mod directory;
mod entry;
mod managers;
mod normalize;
mod resolver;
mod table;
mod tail;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_duplicates;
#[cfg(test)]
mod tests_memory;
mod wire;

pub use directory::{ContactDirectory, Duplicate, Effect};
pub use entry::{List, MAX_VALUES, StoredEntry, ValueChange};
pub use managers::{Managers, Sym};
pub use normalize::{
    MAX_PHONE_DIGITS, MIN_PHONE_DIGITS, Phone, emails_in, normalize_email, normalize_phone,
    parse_phone, phones_in,
};
pub use resolver::{ContactStats, Due, Resolver, duplicate_review};
pub use tail::{Attempts, Marks, PackedMark, PackedValue};
pub use wire::{ContactEntry, ContactValue, Mark};
