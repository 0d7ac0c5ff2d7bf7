//! Interning of small, repeated strings (manager, stage and channel ids) into `u32` symbols.

use crate::keyhash::Map as HashMap;

/// A symbol for an interned string; [`Symbol::NONE`] stands for "absent".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Symbol(u32);

impl Symbol {
    pub const NONE: Symbol = Symbol(u32::MAX);
    pub fn is_none(self) -> bool {
        self == Symbol::NONE
    }
    /// `other` when this symbol is absent.
    pub fn or(self, other: Symbol) -> Symbol {
        if self.is_none() { other } else { self }
    }
}

/// Strings are stored once; lookups by text (one xxh3 pass, `keyhash`) and by symbol are O(1).
#[derive(Debug, Default)]
pub struct Interner {
    by_text: HashMap<Box<str>, Symbol>,
    texts: Vec<Box<str>>,
}

impl Interner {
    pub fn intern(&mut self, text: &str) -> Symbol {
        if let Some(&symbol) = self.by_text.get(text) {
            return symbol;
        }
        let symbol = Symbol(self.texts.len() as u32);
        self.texts.push(text.into());
        self.by_text.insert(text.into(), symbol);
        symbol
    }

    pub fn intern_opt(&mut self, text: Option<&str>) -> Symbol {
        text.map_or(Symbol::NONE, |t| self.intern(t))
    }

    /// The symbol of `text` if it was interned, without interning it.
    pub fn lookup(&self, text: &str) -> Option<Symbol> {
        self.by_text.get(text).copied()
    }

    pub fn resolve(&self, symbol: Symbol) -> Option<&str> {
        self.texts.get(symbol.0 as usize).map(|t| &**t)
    }

    pub fn resolve_owned(&self, symbol: Symbol) -> Option<String> {
        self.resolve(symbol).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_resolves() {
        let mut interner = Interner::default();
        let a = interner.intern("m1");
        assert_eq!(interner.intern("m1"), a);
        let b = interner.intern("m2");
        assert_ne!(a, b);
        assert_eq!(interner.resolve(b), Some("m2"));
        assert_eq!(interner.resolve(Symbol::NONE), None);
        assert_eq!(interner.intern_opt(None), Symbol::NONE);
        assert_eq!(Symbol::NONE.or(a), a);
    }
}
