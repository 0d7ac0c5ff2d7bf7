//! Normalised phone numbers and e-mail addresses: the keys calls and leads are matched on.
//!
//! Phones (SPEC §4.8, decisions in docs/contacts.md):
//! - everything before the first digit is skipped (`+`, `tel:`, `"Name" <`); after it, spaces,
//!   dashes, dots, slashes and parentheses are ignored and any other character ends the number
//!   (`доб. 12`, `ext 5`, `#`, `>`, `,`), so an extension is not part of the number;
//! - a leading `00` (international prefix) is dropped, and so is the Russian international prefix
//!   `810` in front of a number longer than 11 digits;
//! - Russian national forms become `7…`: `8XXXXXXXXXX` (11 digits) ≡ `7XXXXXXXXXX`, and a 10-digit
//!   number whose first digit is 3, 4, 8 or 9 (an area or mobile code: `916 123-45-67`,
//!   `495 123-45-67`, `800 555-35-35`) gets the `7` it was written without;
//! - fewer than 7 or more than 15 digits (internal extensions, garbage) is no phone at all.
//!
//! E-mails: trimmed, `mailto:` and `Name <…>` stripped, lower-cased, one trailing dot of the
//! domain dropped; it must have exactly one `@` with text on both sides and no whitespace.
//! Provider-specific aliases (Gmail dots and `+tags`) are deliberately *not* folded.

/// Fewest digits a client's number can have (a 7-digit local number); shorter is an extension.
pub const MIN_PHONE_DIGITS: usize = 7;
/// Most digits an E.164 number can have.
pub const MAX_PHONE_DIGITS: usize = 15;

fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '‐' | '‑' | '–' | '—' | '(' | ')' | '.' | '/')
}

/// Digits read before a number is known to be too long: [`MAX_PHONE_DIGITS`] plus the longest
/// prefix dropped (`810`).
const MAX_RAW_DIGITS: usize = MAX_PHONE_DIGITS + 3;

/// A normalised phone number held on the stack (at most [`MAX_PHONE_DIGITS`] ASCII digits), so
/// checking or looking up a phone allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phone {
    digits: [u8; MAX_PHONE_DIGITS],
    len: u8,
}

impl Phone {
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored, so this never falls back.
        std::str::from_utf8(&self.digits[..usize::from(self.len)]).unwrap_or_default()
    }
}

/// The normalised form of one phone number (digits only, Russian numbers as `7XXXXXXXXXX`),
/// or `None` when the text holds no usable number.
pub fn normalize_phone(raw: &str) -> Option<String> {
    parse_phone(raw).map(|phone| phone.as_str().to_owned())
}

/// [`normalize_phone`] without allocating.
pub fn parse_phone(raw: &str) -> Option<Phone> {
    let start = raw.find(|c: char| c.is_ascii_digit())?;
    let mut raw_digits = [0u8; MAX_RAW_DIGITS];
    let mut count = 0;
    for c in raw[start..].chars() {
        if c.is_ascii_digit() {
            // More digits than any prefix rule can bring down to MAX_PHONE_DIGITS: no number.
            *raw_digits.get_mut(count)? = c as u8;
            count += 1;
        } else if !is_separator(c) {
            break;
        }
    }
    let mut number = &raw_digits[..count];
    if let Some(rest) = number.strip_prefix(b"00") {
        number = rest;
    } else if number.len() > 11
        && let Some(rest) = number.strip_prefix(b"810")
    {
        number = rest;
    }
    let mut phone = Phone {
        digits: [0; MAX_PHONE_DIGITS],
        len: 0,
    };
    let (prefix, body): (&[u8], &[u8]) = match (number.len(), number.first()) {
        (11, Some(b'8')) => (b"7", &number[1..]),
        (10, Some(b'3' | b'4' | b'8' | b'9')) => (b"7", number),
        _ => (b"", number),
    };
    let len = prefix.len() + body.len();
    if !(MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS).contains(&len) {
        return None;
    }
    phone.digits[..prefix.len()].copy_from_slice(prefix);
    phone.digits[prefix.len()..len].copy_from_slice(body);
    phone.len = u8::try_from(len).ok()?;
    Some(phone)
}

/// The normalised form of one e-mail address, or `None` when the text is not one.
pub fn normalize_email(raw: &str) -> Option<String> {
    let mut text = raw.trim();
    if let (Some(open), Some(close)) = (text.rfind('<'), text.rfind('>'))
        && open < close
    {
        text = text[open + 1..close].trim();
    }
    if let Some(prefix) = text.get(..7)
        && prefix.eq_ignore_ascii_case("mailto:")
    {
        text = text[7..].trim();
    }
    let address = text.to_lowercase();
    let address = address.strip_suffix('.').unwrap_or(&address);
    let (local, domain) = address.split_once('@')?;
    let valid = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !address.contains(char::is_whitespace);
    valid.then(|| address.to_owned())
}

/// Every phone in a contact field (several may be listed, separated by `,` or `;`).
pub fn phones_in(field: &str) -> impl Iterator<Item = Phone> + '_ {
    field.split([',', ';']).filter_map(parse_phone)
}

/// Every e-mail address in a contact field (separated by `,`, `;` or whitespace).
pub fn emails_in(field: &str) -> impl Iterator<Item = String> + '_ {
    field
        .split([',', ';'])
        .flat_map(|part| {
            // `Name <a@b>` keeps its spaces; a bare list may be separated by whitespace.
            let whole = part.contains('<').then_some(part);
            whole
                .into_iter()
                .chain(part.split_whitespace().filter(move |_| whole.is_none()))
        })
        .filter_map(normalize_email)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(raw: &str) -> Option<String> {
        normalize_phone(raw)
    }

    #[test]
    fn russian_forms_of_one_mobile_number_agree() {
        let want = Some("79161234567".to_owned());
        for raw in [
            "+7 916 123-45-67",
            "8-916-123-45-67",
            "8 (916) 123-45-67",
            "+7(916)1234567",
            "79161234567",
            "89161234567",
            "9161234567",
            " 916 123 45 67 ",
            "+7 916 123.45.67",
            "tel:+7-916-123-45-67",
            "\"Ivan\" <89161234567>",
            "+7\u{a0}916\u{a0}123\u{2011}45\u{2011}67",
            "0079161234567",
            "8 10 7 916 123 45 67",
        ] {
            assert_eq!(phone(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn landlines_toll_free_and_foreign_numbers() {
        assert_eq!(phone("8 (495) 123-45-67").as_deref(), Some("74951234567"));
        assert_eq!(phone("(495) 123-45-67").as_deref(), Some("74951234567"));
        assert_eq!(phone("8 800 555-35-35").as_deref(), Some("78005553535"));
        assert_eq!(phone("800 555 35 35").as_deref(), Some("78005553535"));
        // Belarus, dialled from Russia with 8-10 and written internationally.
        assert_eq!(
            phone("8 10 375 29 123-45-67").as_deref(),
            Some("375291234567")
        );
        assert_eq!(phone("+375 29 123-45-67").as_deref(), Some("375291234567"));
        // A 10-digit number not starting with a Russian area code is left alone.
        assert_eq!(phone("2125551234").as_deref(), Some("2125551234"));
        assert_eq!(phone("123-45-67").as_deref(), Some("1234567"));
    }

    #[test]
    fn extensions_end_the_number_and_junk_is_no_number() {
        assert_eq!(
            phone("+7 916 123-45-67 доб. 123").as_deref(),
            Some("79161234567")
        );
        assert_eq!(
            phone("8-916-123-45-67 ext 9").as_deref(),
            Some("79161234567")
        );
        assert_eq!(phone("+7 916 123-45-67#12").as_deref(), Some("79161234567"));
        assert_eq!(phone("101"), None, "an internal extension");
        assert_eq!(phone("+7"), None);
        assert_eq!(phone("anonymous"), None);
        assert_eq!(phone(""), None);
        assert_eq!(phone("1234567890123456"), None, "longer than E.164");
    }

    #[test]
    fn too_many_digits_is_no_number_whatever_the_prefix() {
        // 18 digits: 00 + 16, or 810 + 15 (kept), or 810 + 16 (too long).
        assert_eq!(phone("00 1234567890123456"), None);
        assert_eq!(
            phone("810 123456789012345").as_deref(),
            Some("123456789012345")
        );
        assert_eq!(phone("810 1234567890123456"), None);
        assert_eq!(
            phone("1234567890123456789012"),
            None,
            "past the digit buffer"
        );
        assert_eq!(
            parse_phone("8 (916) 123-45-67").map(|p| p.as_str().to_owned()),
            normalize_phone("8 (916) 123-45-67")
        );
    }

    #[test]
    fn several_phones_in_one_field() {
        let all: Vec<String> = phones_in("+7 916 123-45-67, 8 (495) 123-45-67; 101")
            .map(|phone| phone.as_str().to_owned())
            .collect();
        assert_eq!(all, ["79161234567", "74951234567"]);
    }

    #[test]
    fn emails_are_trimmed_and_lower_cased_only() {
        let email = |raw| normalize_email(raw);
        assert_eq!(
            email("  Ivan.Petrov@Mail.RU ").as_deref(),
            Some("ivan.petrov@mail.ru")
        );
        assert_eq!(
            email("MAILTO:ivan@mail.ru").as_deref(),
            Some("ivan@mail.ru")
        );
        assert_eq!(
            email("Иван Петров <Ivan@Example.com>").as_deref(),
            Some("ivan@example.com")
        );
        assert_eq!(email("ivan@mail.ru.").as_deref(), Some("ivan@mail.ru"));
        assert_eq!(email("ПОЧТА@Пример.РФ").as_deref(), Some("почта@пример.рф"));
        // No provider-specific folding: these stay distinct addresses.
        assert_ne!(
            email("ivan.petrov@gmail.com"),
            email("ivanpetrov@gmail.com")
        );
        assert_ne!(email("ivan+crm@gmail.com"), email("ivan@gmail.com"));
        for bad in [
            "",
            "ivan",
            "@mail.ru",
            "ivan@",
            "a@b@c",
            "iv an@mail.ru",
            "ivan@.ru",
        ] {
            assert_eq!(email(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn several_emails_in_one_field() {
        let all: Vec<String> =
            emails_in("A@x.ru, Bob <B@Y.ru>; c@z.ru d@w.ru, not-an-address").collect();
        assert_eq!(all, ["a@x.ru", "b@y.ru", "c@z.ru", "d@w.ru"]);
    }
}
