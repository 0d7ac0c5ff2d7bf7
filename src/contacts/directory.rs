//! The contact directory: per tenant, every known lead's phones and e-mails with the history
//! needed to resolve a call's phone (SPEC §4.8) and to find the lead a new one duplicates.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;

use hashbrown::hash_map::EntryRef;

/// hashbrown's map (for `entry_ref`: no key allocation on lookups) with std's hasher.
type HashMap<K, V> = hashbrown::HashMap<K, V, std::hash::RandomState>;

use super::entry::{ContactEntry, Mark, ValueChange, add_value};
use super::normalize::{emails_in, normalize_phone, phones_in};
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

/// One tenant's leads, indexed by normalised phone and e-mail.
#[derive(Debug, Default)]
struct TenantContacts {
    leads: HashMap<Arc<str>, ContactEntry>,
    by_phone: HashMap<Box<str>, Vec<Arc<str>>>,
    by_email: HashMap<Box<str>, Vec<Arc<str>>>,
    /// Manager ids, shared by the entries.
    managers: HashSet<Arc<str>>,
    /// History before this time is folded (see `entry`).
    watermark: Secs,
    /// (time, lead) of history still kept event by event: what the next pruning visits.
    unfolded: BinaryHeap<Reverse<(Secs, Arc<str>)>>,
}

/// Contact entries of every lead of every tenant; tenants never see each other's leads.
#[derive(Debug, Default)]
pub struct ContactDirectory {
    tenants: HashMap<Box<str>, TenantContacts>,
}

impl ContactDirectory {
    pub fn new() -> Self {
        Self::default()
    }

    fn tenant_mut(&mut self, tenant: &str) -> &mut TenantContacts {
        self.tenants.entry_ref(tenant).or_default()
    }

    /// Merges one engine update (the order of updates does not matter beyond the watermark
    /// rule: history before the watermark is folded).
    pub fn apply(&mut self, update: &ContactUpdate) -> Effect {
        let contacts = self.tenant_mut(update.tenant());
        match update {
            ContactUpdate::Lead(lead) => contacts.add_event(lead),
            ContactUpdate::Attempt { lead_id, at, .. } => {
                let watermark = contacts.watermark;
                let entry = contacts.entry_mut(lead_id);
                entry.add_attempt(*at, watermark);
                let id = Arc::clone(&entry.lead_id);
                if *at >= watermark {
                    contacts.unfolded.push(Reverse((*at, id)));
                }
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

    /// Folds the history of `tenant` before `watermark` (call with the tenant's watermark as it
    /// advances: questions about times before it are answered as of it).
    pub fn prune(&mut self, tenant: &str, watermark: Timestamp) {
        let watermark = watermark.as_compact_seconds();
        let Some(contacts) = self.tenants.get_mut(tenant) else {
            return;
        };
        if watermark <= contacts.watermark {
            return;
        }
        contacts.watermark = watermark;
        while let Some(Reverse((at, _))) = contacts.unfolded.peek()
            && *at < watermark
        {
            let Some(Reverse((_, lead_id))) = contacts.unfolded.pop() else {
                break;
            };
            if let Some(entry) = contacts.leads.get_mut(&lead_id) {
                entry.prune(watermark);
            }
        }
    }

    /// The lead a call from `phone` at `at` belongs to: among the tenant's leads that had that
    /// phone and were open (existing, not rejected or converted) at `at`, the one with the latest
    /// activity at or before `at`; ties go to the smallest lead id.
    pub fn resolve_phone(&self, tenant: &str, phone: &str, at: Timestamp) -> Option<Arc<str>> {
        let phone = normalize_phone(phone)?;
        let contacts = self.tenants.get(tenant)?;
        let t = at.as_compact_seconds();
        contacts
            .by_phone
            .get(phone.as_str())?
            .iter()
            .filter_map(|id| contacts.leads.get(id))
            .filter(|entry| entry.has_phone_at(&phone, t) && entry.open_at(t))
            .max_by(|a, b| {
                (a.activity_at(t), Reverse(&a.lead_id))
                    .cmp(&(b.activity_at(t), Reverse(&b.lead_id)))
            })
            .map(|entry| Arc::clone(&entry.lead_id))
    }

    /// The earlier open lead `lead_id` duplicates, as of the lead's first event: a lead of the
    /// same tenant created earlier (ties: smaller lead id), open at that time, with one of its
    /// phones (preferred) or e-mails. Of several, the earliest created.
    pub fn duplicate_of(&self, tenant: &str, lead_id: &str) -> Option<Duplicate> {
        let contacts = self.tenants.get(tenant)?;
        let new = contacts.leads.get(lead_id)?;
        let (t, _) = new.first?;
        let rank = (new.created, &new.lead_id);
        let phones: Vec<&str> = new.phones_at(t).collect();
        let emails: Vec<&str> = new.emails_at(t).collect();
        let by_phone = earliest_open(contacts, &contacts.by_phone, &phones, Value::Phone, t, rank);
        let by_email = earliest_open(contacts, &contacts.by_email, &emails, Value::Email, t, rank);
        let (earlier, matched_on) = match (by_phone, by_email) {
            (Some(p), Some(e)) if (e.created, &e.lead_id) < (p.created, &p.lead_id) => {
                (e, MatchedOn::Email)
            }
            (Some(p), _) => (p, MatchedOn::Phone),
            (None, Some(e)) => (e, MatchedOn::Email),
            (None, None) => return None,
        };
        Some(Duplicate {
            earlier_lead_id: Arc::clone(&earlier.lead_id),
            earlier_manager_id: earlier.manager_at(t).cloned(),
            matched_on,
            manager_id: new.manager_at(t).cloned(),
            at: Timestamp::from_compact_seconds(t),
        })
    }

    /// Installs a whole entry (a replica of the directory reading entries another instance
    /// merged), replacing the lead's; reports a new or earlier first event like [`Self::apply`].
    pub fn replace(&mut self, tenant: &str, entry: ContactEntry) -> Effect {
        let contacts = self.tenant_mut(tenant);
        let old_first = contacts.leads.get(&entry.lead_id).and_then(|e| e.first);
        contacts.remove(&entry.lead_id);
        let id = Arc::clone(&entry.lead_id);
        for value in &entry.phones {
            contacts
                .by_phone
                .entry(value.value.clone())
                .or_default()
                .push(Arc::clone(&id));
        }
        for value in &entry.emails {
            contacts
                .by_email
                .entry(value.value.clone())
                .or_default()
                .push(Arc::clone(&id));
        }
        if let Some(earliest) = entry.earliest_recent() {
            contacts.unfolded.push(Reverse((earliest, Arc::clone(&id))));
        }
        let first = entry.first;
        contacts.leads.insert(id, entry);
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
        let Some(entry) = self
            .tenants
            .get_mut(tenant)
            .and_then(|c| c.leads.get_mut(lead_id))
        else {
            return false;
        };
        !std::mem::replace(&mut entry.duplicate_checked, true)
    }

    pub fn entry(&self, tenant: &str, lead_id: &str) -> Option<&ContactEntry> {
        self.tenants.get(tenant)?.leads.get(lead_id)
    }

    /// Leads known, over all tenants.
    pub fn len(&self) -> usize {
        self.tenants.values().map(|c| c.leads.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tenant's watermark as last pruned.
    pub fn watermark(&self, tenant: &str) -> Timestamp {
        Timestamp::from_compact_seconds(self.tenants.get(tenant).map_or(0, |c| c.watermark))
    }
}

impl TenantContacts {
    fn entry_mut(&mut self, lead_id: &str) -> &mut ContactEntry {
        match self.leads.entry_ref(lead_id) {
            EntryRef::Occupied(entry) => entry.into_mut(),
            EntryRef::Vacant(entry) => {
                let id: Arc<str> = lead_id.into();
                entry.insert_with_key(Arc::clone(&id), ContactEntry::new(id))
            }
        }
    }

    fn manager(&mut self, manager: Option<&str>) -> Option<Arc<str>> {
        let manager = manager?;
        if let Some(known) = self.managers.get(manager) {
            return Some(Arc::clone(known));
        }
        let shared: Arc<str> = manager.into();
        self.managers.insert(Arc::clone(&shared));
        Some(shared)
    }

    fn add_event(&mut self, lead: &LeadContact) -> Effect {
        let manager = self.manager(lead.manager_id.as_deref());
        let watermark = self.watermark;
        let mark = Mark {
            at: lead.at,
            key: lead.event_key,
            terminal: lead.terminal,
            manager,
        };
        let entry = self.entry_mut(&lead.lead_id);
        let first = entry.add_event(mark, lead.created, watermark);
        let id = Arc::clone(&entry.lead_id);
        let mut changes = Vec::new();
        for phone in lead.phone.as_deref().into_iter().flat_map(phones_in) {
            changes.push((
                true,
                add_value(&mut entry.phones, &phone, lead.at, watermark),
            ));
        }
        for email in lead.email.as_deref().into_iter().flat_map(emails_in) {
            changes.push((
                false,
                add_value(&mut entry.emails, &email, lead.at, watermark),
            ));
        }
        for (is_phone, change) in changes {
            self.reindex(is_phone, &id, change);
        }
        if lead.at >= watermark {
            self.unfolded.push(Reverse((lead.at, Arc::clone(&id))));
        }
        if first {
            Effect::FirstEvent(lead.at)
        } else {
            Effect::None
        }
    }

    fn reindex(&mut self, is_phone: bool, lead_id: &Arc<str>, change: ValueChange) {
        let index = if is_phone {
            &mut self.by_phone
        } else {
            &mut self.by_email
        };
        if let Some(added) = change.added {
            index.entry(added).or_default().push(Arc::clone(lead_id));
        }
        if let Some(dropped) = change.dropped {
            unindex(index, &dropped, lead_id);
        }
    }

    fn remove(&mut self, lead_id: &str) -> bool {
        let Some(entry) = self.leads.remove(lead_id) else {
            return false;
        };
        for value in &entry.phones {
            unindex(&mut self.by_phone, &value.value, &entry.lead_id);
        }
        for value in &entry.emails {
            unindex(&mut self.by_email, &value.value, &entry.lead_id);
        }
        true
    }
}

/// Which contact list a value belongs to.
#[derive(Clone, Copy)]
enum Value {
    Phone,
    Email,
}

/// Of the leads listed under any of `values`, the earliest created (ties: smallest id) that was
/// created before `rank`, had the value by `t` and was open at `t`.
fn earliest_open<'c>(
    contacts: &'c TenantContacts,
    index: &'c HashMap<Box<str>, Vec<Arc<str>>>,
    values: &[&str],
    kind: Value,
    t: Secs,
    rank: (Secs, &Arc<str>),
) -> Option<&'c ContactEntry> {
    let mut best: Option<&ContactEntry> = None;
    for &value in values {
        for id in index.get(value).into_iter().flatten() {
            let Some(earlier) = contacts.leads.get(id) else {
                continue;
            };
            let has = match kind {
                Value::Phone => earlier.has_phone_at(value, t),
                Value::Email => earlier.has_email_at(value, t),
            };
            let this = (earlier.created, &earlier.lead_id);
            if this < rank
                && has
                && earlier.open_at(t)
                && best.is_none_or(|b| this < (b.created, &b.lead_id))
            {
                best = Some(earlier);
            }
        }
    }
    best
}

fn unindex(index: &mut HashMap<Box<str>, Vec<Arc<str>>>, value: &str, lead_id: &Arc<str>) {
    if let Some(ids) = index.get_mut(value) {
        ids.retain(|id| id != lead_id);
        if ids.is_empty() {
            index.remove(value);
        }
    }
}
