//! One tenant's manager ids as small symbols: a contact entry names a manager in 4 bytes instead of a 16-byte `Option<Arc<str>>`.

use std::sync::Arc;

use crate::keyhash::Map;

/// A manager id's symbol in its tenant's [`Managers`]; 0 is "no manager".
pub type Sym = u32;

/// The manager ids a tenant's entries have named, never forgotten (a sales department has a
/// few hundred managers; entries name them again and again).
#[derive(Debug, Default)]
pub struct Managers {
    names: Vec<Arc<str>>,
    symbols: Map<Arc<str>, Sym>,
}

impl Managers {
    /// The symbol of `name` (0 for none), made on first sight.
    pub fn intern(&mut self, name: Option<&str>) -> Sym {
        let Some(name) = name else { return 0 };
        if let Some(&sym) = self.symbols.get(name) {
            return sym;
        }
        // More than 4 billion distinct names cannot fit in memory; saturate rather than wrap.
        let sym = Sym::try_from(self.names.len() + 1).unwrap_or(Sym::MAX);
        let shared: Arc<str> = name.into();
        self.names.push(Arc::clone(&shared));
        self.symbols.insert(shared, sym);
        sym
    }

    /// The manager id of `sym` (`None` for 0).
    pub fn name(&self, sym: Sym) -> Option<&Arc<str>> {
        let index = usize::try_from(sym).ok()?.checked_sub(1)?;
        self.names.get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_stable_symbols() {
        let mut managers = Managers::default();
        assert_eq!(managers.intern(None), 0);
        let a = managers.intern(Some("anna"));
        let b = managers.intern(Some(""));
        assert_eq!((a, b), (1, 2));
        assert_eq!(managers.intern(Some("anna")), a);
        assert_eq!(managers.name(a).map(|n| &**n), Some("anna"));
        assert_eq!(managers.name(b).map(|n| &**n), Some(""));
        assert_eq!(managers.name(0), None);
        assert_eq!(managers.name(3), None);
    }
}
