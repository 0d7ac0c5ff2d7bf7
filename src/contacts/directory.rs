//! The contact directory: per tenant, every known lead's phones and e-mails with the history
//! needed to resolve a call's phone (SPEC §4.8) and to find the lead a new one duplicates.

use std::cmp::Reverse;
use std::sync::Arc;

use super::entry::{List, StoredEntry, ValueChange};
use super::managers::{Managers, Sym};
use super::normalize::{emails_in, parse_phone, phones_in};
use super::table::{Slots, ValueIndex};
use super::tail::PackedMark;
use super::wire::ContactEntry;
use crate::engine::{ContactUpdate, LeadContact, Secs};
use crate::model::{MatchedOn, Timestamp};

/// What an update did to the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing a caller must act on.
    None,
    /// The lead's earliest known event is now at this time (a new lead, or an earlier event
    /// arrived): its duplicate check is due once the watermark passes it.
    FirstEvent(Secs),
    /// The lead was forgotten.
    Forgotten,
}

/// The earlier open lead a new lead duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Duplicate {
    pub earlier_lead_id: Arc<str>,
    pub earlier_manager_id: Option<Arc<str>>,
    pub matched_on: MatchedOn,
    /// The new lead's manager, and the time the check is made as of (its first event).
    pub manager_id: Option<Arc<str>>,
    pub at: Timestamp,
}

/// Entries whose history before the watermark is folded per update, besides the updated one's
/// (`Slots::fold_some`). With about eight updates per lead the sweep goes round the table some
/// sixteen times as it fills, so a lead that is not updated again does not keep its last events
/// unfolded for good (about 70 bytes per lead after a backlog drain, whose watermark trails
/// its clock).
const SWEEP_PER_UPDATE: u32 = 2;

/// One tenant's leads, indexed by normalised phone and e-mail.
#[derive(Debug, Default)]
struct TenantContacts {
    leads: Slots,
    by_phone: ValueIndex,
    by_email: ValueIndex,
    /// Manager ids, named by the entries as symbols.
    managers: Managers,
    /// History before this time is folded (see `entry`) when its lead is next updated.
    watermark: Secs,
}

/// Contact entries of every lead of every tenant; tenants never see each other's leads.
#[derive(Debug, Default)]
pub struct ContactDirectory {
    /// By tenant name: a handful, so a list beats hashing the name for every update.
    tenants: Vec<(Box<str>, TenantContacts)>,
}

impl ContactDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    fn tenant(&self, tenant: &str) -> Option<&TenantContacts> {
        self.tenants
            .iter()
            .find(|(name, _)| **name == *tenant)
            .map(|(_, contacts)| contacts)
    }

    fn tenant_mut_if_known(&mut self, tenant: &str) -> Option<&mut TenantContacts> {
        self.tenants
            .iter_mut()
            .find(|(name, _)| **name == *tenant)
            .map(|(_, contacts)| contacts)
    }

    fn tenant_mut(&mut self, tenant: &str) -> &mut TenantContacts {
        let slot = match self.tenants.iter().position(|(name, _)| **name == *tenant) {
            Some(slot) => slot,
            None => {
                self.tenants
                    .push((tenant.into(), TenantContacts::default()));
                self.tenants.len() - 1
            }
        };
        &mut self.tenants[slot].1
    }

    /// Merges one engine update (the order of updates does not matter beyond the watermark
    /// rule: history before the watermark is folded).
    pub fn apply(&mut self, update: &ContactUpdate) -> Effect {
        self.apply_owned(update, 0)
    }

    /// [`Self::apply`] by the input partition `owner` (a lead or attempt update makes it the
    /// lead's owner, see [`Self::owner`]).
    pub fn apply_owned(&mut self, update: &ContactUpdate, owner: i32) -> Effect {
        let contacts = self.tenant_mut(update.tenant());
        contacts
            .leads
            .fold_some(contacts.watermark, SWEEP_PER_UPDATE);
        match update {
            ContactUpdate::Lead(lead) => contacts.add_event(lead, owner),
            ContactUpdate::Attempt { lead_id, at, .. } => {
                let watermark = contacts.watermark;
                contacts
                    .entry_mut(lead_id, owner)
                    .add_attempt(*at, watermark);
                Effect::None
            }
            ContactUpdate::Forget { lead_id, .. } => {
                if contacts.remove(lead_id) {
                    Effect::Forgotten
                } else {
                    Effect::None
                }
            }
        }
    }

    /// Moves the watermark of `tenant` (call as the tenant's watermark advances): a lead's
    /// history before it is folded when the lead is next updated, and questions about times
    /// before it are answered as of (about) it.
    pub fn prune(&mut self, tenant: &str, watermark: Timestamp) {
        if let Some(contacts) = self.tenant_mut_if_known(tenant) {
            contacts.watermark = contacts.watermark.max(watermark.as_compact_seconds());
        }
    }

    /// The lead a call from `phone` at `at` belongs to: among the tenant's leads that had that
    /// phone and were open (existing, not rejected or converted) at `at`, the one with the latest
    /// activity at or before `at`; ties go to the smallest lead id.
    pub fn resolve_phone(&self, tenant: &str, phone: &str, at: Timestamp) -> Option<Arc<str>> {
        let phone = parse_phone(phone)?;
        let phone = phone.as_str();
        let contacts = self.tenant(tenant)?;
        let t = contacts.as_of(at.as_compact_seconds());
        contacts
            .by_phone
            .slots(phone)
            .filter_map(|slot| contacts.leads.get(slot))
            .filter(|entry| entry.has_value_at(List::Phones, phone, t) && entry.open_at(t))
            .max_by(|a, b| {
                (a.activity_at(t), Reverse(a.lead_id()))
                    .cmp(&(b.activity_at(t), Reverse(b.lead_id())))
            })
            .map(|entry| Arc::from(entry.lead_id()))
    }

    /// The earlier open lead `lead_id` duplicates, as of the lead's first event (when it is open
    /// then): a lead of the same tenant created earlier (ties: smaller lead id), open at that
    /// time, with one of its phones (preferred) or e-mails. Of several, the earliest created.
    pub fn duplicate_of(&self, tenant: &str, lead_id: &str) -> Option<Duplicate> {
        let contacts = self.tenant(tenant)?;
        let new = contacts.leads.entry(lead_id)?;
        let (first, _) = new.first()?;
        let t = contacts.as_of(first);
        if !new.open_at(t) {
            return None; // created rejected or converted: nothing to hand over
        }
        let rank = (new.created(), new.lead_id());
        let phones: Vec<&str> = new.values_at(List::Phones, t).collect();
        let emails: Vec<&str> = new.values_at(List::Emails, t).collect();
        let by_phone = earliest_open(contacts, &contacts.by_phone, &phones, List::Phones, t, rank);
        let by_email = earliest_open(contacts, &contacts.by_email, &emails, List::Emails, t, rank);
        let (earlier, matched_on) = match (by_phone, by_email) {
            (Some(p), Some(e)) if (e.created(), e.lead_id()) < (p.created(), p.lead_id()) => {
                (e, MatchedOn::Email)
            }
            (Some(p), _) => (p, MatchedOn::Phone),
            (None, Some(e)) => (e, MatchedOn::Email),
            (None, None) => return None,
        };
        let manager = |entry: &StoredEntry| contacts.managers.name(entry.manager_at(t)).cloned();
        Some(Duplicate {
            earlier_lead_id: earlier.lead_id().into(),
            earlier_manager_id: manager(earlier),
            matched_on,
            manager_id: manager(new),
            at: Timestamp::from_compact_seconds(first),
        })
    }

    /// Installs a whole entry (a replica of the directory reading entries another instance
    /// merged), replacing the lead's; reports a new or earlier first event like [`Self::apply`].
    pub fn replace(&mut self, tenant: &str, entry: ContactEntry) -> Effect {
        self.replace_owned(tenant, entry, 0)
    }

    /// [`Self::replace`], the lead owned by input partition `owner`.
    pub fn replace_owned(&mut self, tenant: &str, entry: ContactEntry, owner: i32) -> Effect {
        let contacts = self.tenant_mut(tenant);
        let old_first = contacts.leads.entry(&entry.lead_id).and_then(|e| e.first());
        contacts.remove(&entry.lead_id);
        let first = entry.first;
        let stored = StoredEntry::from_wire(&entry, &mut contacts.managers, owner);
        let slot = contacts.leads.insert(stored);
        for value in &entry.phones {
            contacts.by_phone.add(&value.value, slot);
        }
        for value in &entry.emails {
            contacts.by_email.add(&value.value, slot);
        }
        match first {
            Some((at, key)) if old_first.is_none_or(|old| (at, key) < old) => {
                Effect::FirstEvent(at)
            }
            _ => Effect::None,
        }
    }

    /// Marks the lead's duplicate check as done; `false` if it was done already (or the lead is
    /// unknown).
    pub fn start_duplicate_check(&mut self, tenant: &str, lead_id: &str) -> bool {
        self.tenant_mut_if_known(tenant)
            .and_then(|c| {
                let slot = c.leads.find(lead_id)?;
                c.leads.get_mut(slot)
            })
            .is_some_and(StoredEntry::start_duplicate_check)
    }

    pub fn entry(&self, tenant: &str, lead_id: &str) -> Option<&StoredEntry> {
        self.tenant(tenant)?.leads.entry(lead_id)
    }

    /// The lead's entry with the tenant's managers its symbols name (what publishing it needs).
    pub fn entry_with_managers(
        &self,
        tenant: &str,
        lead_id: &str,
    ) -> Option<(&StoredEntry, &Managers)> {
        let contacts = self.tenant(tenant)?;
        Some((contacts.leads.entry(lead_id)?, &contacts.managers))
    }

    /// The lead's entry as published.
    pub fn wire_entry(&self, tenant: &str, lead_id: &str) -> Option<ContactEntry> {
        let (entry, managers) = self.entry_with_managers(tenant, lead_id)?;
        Some(entry.to_wire(managers))
    }

    /// The manager id a symbol of `tenant`'s entries stands for.
    pub fn manager_name(&self, tenant: &str, sym: Sym) -> Option<&Arc<str>> {
        self.tenant(tenant)?.managers.name(sym)
    }

    /// The input partition that last wrote the lead's entry (0 outside the service).
    pub fn owner(&self, tenant: &str, lead_id: &str) -> Option<i32> {
        self.entry(tenant, lead_id).map(StoredEntry::owner)
    }

    /// Every entry with its tenant, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &StoredEntry)> {
        self.tenants.iter().flat_map(|(tenant, contacts)| {
            contacts.leads.iter().map(move |entry| (&**tenant, entry))
        })
    }

    /// Leads known, over all tenants.
    pub fn len(&self) -> usize {
        self.tenants.iter().map(|(_, c)| c.leads.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tenant's watermark as last pruned.
    pub fn watermark(&self, tenant: &str) -> Timestamp {
        Timestamp::from_compact_seconds(self.tenant(tenant).map_or(0, |c| c.watermark))
    }
}

impl TenantContacts {
    /// The time a question about `t` is answered as of: `t`, or for a time before the watermark
    /// (a late call) the watermark — whatever has been folded yet, so folding changes no answer.
    fn as_of(&self, t: Secs) -> Secs {
        t.max(self.watermark.saturating_sub(1))
    }

    fn entry_mut(&mut self, lead_id: &str, owner: i32) -> &mut StoredEntry {
        self.leads.upsert(lead_id, owner).1
    }

    fn add_event(&mut self, lead: &LeadContact, owner: i32) -> Effect {
        let watermark = self.watermark;
        let mark = PackedMark {
            at: lead.at,
            key: lead.event_key,
            who: self.managers.intern(lead.manager_id.as_deref()),
            terminal: lead.terminal,
        };
        let (slot, entry) = self.leads.upsert(&lead.lead_id, owner);
        let first = entry.add_event(mark, lead.created, watermark);
        for phone in lead.phone.as_deref().into_iter().flat_map(phones_in) {
            let phone = phone.as_str();
            let change = entry.add_value(List::Phones, phone, lead.at, watermark);
            reindex(&mut self.by_phone, slot, phone, change);
        }
        for email in lead.email.as_deref().into_iter().flat_map(emails_in) {
            let change = entry.add_value(List::Emails, &email, lead.at, watermark);
            reindex(&mut self.by_email, slot, &email, change);
        }
        if first {
            Effect::FirstEvent(lead.at)
        } else {
            Effect::None
        }
    }

    fn remove(&mut self, lead_id: &str) -> bool {
        let Some(slot) = self.leads.find(lead_id) else {
            return false;
        };
        let Some(removed) = self.leads.remove(slot) else {
            return false;
        };
        for value in removed.values(List::Phones) {
            self.by_phone.remove(value.as_str(), slot);
        }
        for value in removed.values(List::Emails) {
            self.by_email.remove(value.as_str(), slot);
        }
        true
    }
}

/// Lists `value` in `index` when it is newly on the lead, and unlists the one it displaced.
fn reindex(index: &mut ValueIndex, slot: u32, value: &str, change: ValueChange) {
    if change.added {
        index.add(value, slot);
    }
    if let Some(dropped) = change.dropped {
        index.remove(&dropped, slot);
    }
}

/// Of the leads listed under any of `values`, the earliest created (ties: smallest id) that was
/// created before `rank`, had the value by `t` and was open at `t`.
fn earliest_open<'c>(
    contacts: &'c TenantContacts,
    index: &'c ValueIndex,
    values: &[&str],
    list: List,
    t: Secs,
    rank: (Secs, &str),
) -> Option<&'c StoredEntry> {
    let mut best: Option<&StoredEntry> = None;
    for &value in values {
        for slot in index.slots(value) {
            let Some(earlier) = contacts.leads.get(slot) else {
                continue;
            };
            let this = (earlier.created(), earlier.lead_id());
            if this < rank
                && earlier.has_value_at(list, value, t)
                && earlier.open_at(t)
                && best.is_none_or(|b| this < (b.created(), b.lead_id()))
            {
                best = Some(earlier);
            }
        }
    }
    best
}
