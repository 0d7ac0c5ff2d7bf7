//! Decimal digits and ISO dates written by hand into byte buffers (finding ids, JSON output, timestamps), without `fmt`.

use chrono::{Datelike, NaiveDate};

/// Fills `out` with `value` in exactly `out.len()` decimal digits (zero-padded; digits above
/// that width are cut).
pub(crate) fn fixed(out: &mut [u8], mut value: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// `value` in decimal, as itoa writes it, in `buf`.
pub(crate) fn decimal(mut value: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buf[start..];
        }
    }
}

/// `date` as chrono writes it, `YYYY-MM-DD`, for years 0–9999; `None` for others (chrono
/// writes those with a sign and more digits: let it).
pub(crate) fn iso_date(date: NaiveDate) -> Option<[u8; 10]> {
    let year = u32::try_from(date.year()).ok().filter(|&y| y <= 9999)?;
    let mut text = *b"0000-00-00";
    fixed(&mut text[0..4], u64::from(year));
    fixed(&mut text[5..7], u64::from(date.month()));
    fixed(&mut text[8..10], u64::from(date.day()));
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_dates_as_std_and_chrono_write_them() {
        for value in [0, 7, 10, 4_294_967_295] {
            assert_eq!(decimal(value, &mut [0; 10]), value.to_string().as_bytes());
        }
        let mut out = [0; 3];
        fixed(&mut out, 7);
        assert_eq!(&out, b"007");
        for (y, m, d) in [
            (2026, 3, 4),
            (0, 1, 1),
            (9999, 12, 31),
            (-5, 3, 4),
            (10_000, 1, 1),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).expect("a date");
            let want = (0..=9999).contains(&y).then(|| date.to_string());
            let got = iso_date(date).map(|t| String::from_utf8_lossy(&t).into_owned());
            assert_eq!(got, want, "{date}");
        }
    }
}
