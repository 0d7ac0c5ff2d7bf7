//! Bounded label values for tenants and managers: the first ones seen keep their own label,
//! later ones share `other`, so a metric's series count has a fixed ceiling.

use std::collections::HashMap;

/// Distinct tenants with their own label value.
pub const MAX_TENANT_LABELS: usize = 32;
/// Distinct (tenant, manager) pairs with their own label value.
pub const MAX_MANAGER_LABELS: usize = 500;
/// The label value of everything past a cap.
pub const OTHER: &str = "other";
/// The manager label of findings and leads without a manager.
pub const NO_MANAGER: &str = "none";

/// Admission is first come, first kept for the life of the process: a label never moves
/// between its own value and `other` (which would break `rate()` on both series).
#[derive(Debug, Default)]
pub struct LabelCap {
    tenants: HashMap<Box<str>, bool>,
    admitted_tenants: usize,
    /// Per tenant label: manager id (as in the input; `""` for none) → label pair id.
    managers: HashMap<Box<str>, HashMap<Box<str>, u32>>,
    /// Label pair id → (tenant label, manager label).
    pairs: Vec<(Box<str>, Box<str>)>,
    admitted_managers: usize,
}

impl LabelCap {
    /// The label value of `tenant`.
    pub fn tenant<'a>(&mut self, tenant: &'a str) -> &'a str {
        if let Some(&own) = self.tenants.get(tenant) {
            return if own { tenant } else { OTHER };
        }
        let own = self.admitted_tenants < MAX_TENANT_LABELS && tenant != OTHER;
        self.admitted_tenants += usize::from(own);
        self.tenants.insert(tenant.into(), own);
        if own { tenant } else { OTHER }
    }

    /// The id of the label pair of (`tenant`, `manager`); see [`LabelCap::pair`].
    pub fn manager(&mut self, tenant: &str, manager: Option<&str>) -> u32 {
        let tenant = self.tenant(tenant);
        let raw = manager.unwrap_or("");
        if let Some(&id) = self.managers.get(tenant).and_then(|m| m.get(raw)) {
            return id;
        }
        let own = manager.is_some()
            && self.admitted_managers < MAX_MANAGER_LABELS
            && raw != OTHER
            && raw != NO_MANAGER;
        self.admitted_managers += usize::from(own);
        let label = match manager {
            None => NO_MANAGER,
            Some(manager) if own => manager,
            Some(_) => OTHER,
        };
        // Overflowing managers of a tenant share one pair id.
        let shared = (!own)
            .then(|| {
                self.pairs
                    .iter()
                    .position(|(t, m)| **t == *tenant && **m == *label)
            })
            .flatten();
        let id = shared.unwrap_or(self.pairs.len()) as u32;
        if shared.is_none() {
            self.pairs.push((tenant.into(), label.into()));
        }
        self.managers
            .entry(tenant.into())
            .or_default()
            .insert(raw.into(), id);
        id
    }

    /// The (tenant, manager) label values of a pair id.
    pub fn pair(&self, id: u32) -> (&str, &str) {
        self.pairs
            .get(id as usize)
            .map_or((OTHER, OTHER), |(t, m)| (&**t, &**m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn managers_past_the_cap_share_other_and_stay_there() {
        let mut cap = LabelCap::default();
        let labels = |cap: &mut LabelCap, tenant: &str, manager: Option<&str>| {
            let id = cap.manager(tenant, manager);
            let (t, m) = cap.pair(id);
            (id, t.to_owned(), m.to_owned())
        };
        for i in 0..MAX_MANAGER_LABELS {
            let name = format!("m{i}");
            let (_, t, m) = labels(&mut cap, "t", Some(&name));
            assert_eq!((t.as_str(), m.as_str()), ("t", name.as_str()));
        }
        let (late, _, m) = labels(&mut cap, "t", Some("late"));
        assert_eq!(m, OTHER);
        let (later, _, _) = labels(&mut cap, "t", Some("later"));
        assert_eq!(later, late, "overflowing managers share one series");
        assert_eq!(labels(&mut cap, "t", Some("m0")).2, "m0");
        assert_eq!(labels(&mut cap, "t", Some("late")).0, late);
        assert_eq!(labels(&mut cap, "t", None).2, NO_MANAGER);
        // A manager literally named "other" cannot pose as the overflow series' owner.
        let mut fresh = LabelCap::default();
        assert_eq!(labels(&mut fresh, "t", Some(OTHER)).2, OTHER);
    }

    #[test]
    fn tenants_past_the_cap_share_other() {
        let mut cap = LabelCap::default();
        for i in 0..MAX_TENANT_LABELS {
            let name = format!("t{i}");
            assert_eq!(cap.tenant(&name), name.as_str());
        }
        assert_eq!(cap.tenant("late"), OTHER);
        assert_eq!(cap.tenant("t3"), "t3");
        let id = cap.manager("late", Some("m"));
        assert_eq!(cap.pair(id), (OTHER, "m"));
    }
}
