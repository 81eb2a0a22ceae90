//! Go's number and time text rules, as Kustomize applies them: `strconv.ParseInt(s, 0, 64)`,
//! `ParseFloat`, yaml.v3 timestamps, `strconv.FormatFloat(f, 'g', -1, 64)` (what yaml.v2
//! prints) and `encoding/json`'s float text (what the JSON round trip of every object makes).

use serde_json::Number;

/// `strconv.ParseInt(s, 0, 64)`, falling back to `ParseUint(s, 0, 64)`, as yaml.v3 tries them.
pub fn go_parse_int(s: &str) -> Option<Number> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_magnitude(unsigned)?;
    let signed = s.starts_with(['-', '+']);
    if negative {
        if magnitude <= i64::MAX as u64 {
            return Some(Number::from(-(magnitude as i64)));
        }
        if magnitude == i64::MAX as u64 + 1 {
            return Some(Number::from(i64::MIN));
        }
        return None;
    }
    if magnitude <= i64::MAX as u64 {
        return Some(Number::from(magnitude as i64));
    }
    // ParseUint takes no sign: `+18446744073709551615` is not a number to Go.
    (!signed).then(|| Number::from(magnitude))
}

/// The unsigned part of Go's base-0 integer syntax: `0x`, `0o`, `0b` prefixes and leading-zero
/// octal.
fn parse_magnitude(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let bytes = s.as_bytes();
    let (radix, digits) = if bytes[0] == b'0' && s.len() >= 3 && matches!(bytes[1], b'b' | b'B') {
        (2, &s[2..])
    } else if bytes[0] == b'0' && s.len() >= 3 && matches!(bytes[1], b'o' | b'O') {
        (8, &s[2..])
    } else if bytes[0] == b'0' && s.len() >= 3 && matches!(bytes[1], b'x' | b'X') {
        (16, &s[2..])
    } else if bytes[0] == b'0' {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if digits.is_empty() {
        return (radix == 8).then_some(0);
    }
    if !digits.bytes().all(|b| (b as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `strconv.ParseFloat(s, 64)` for the decimal forms yaml.v3 hands it; out-of-range values fail
/// as they do in Go.
pub fn go_parse_float(s: &str) -> Option<f64> {
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Shortest decimal digits of a finite, non-zero `f` and the decimal point position: `f` equals
/// `0.d1d2... × 10^dp` (Go's `decimalSlice`).
fn shortest_digits(f: f64) -> (Vec<u8>, i32) {
    let text = format!("{:e}", f.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    (digits, exponent + 1)
}

fn format_f(out: &mut String, digits: &[u8], dp: i32, precision: usize) {
    if dp > 0 {
        for i in 0..dp as usize {
            out.push(digits.get(i).map_or('0', |d| *d as char));
        }
    } else {
        out.push('0');
    }
    if precision > 0 {
        out.push('.');
        for i in 0..precision as i32 {
            let index = dp + i;
            let digit = if index >= 0 {
                digits.get(index as usize).copied()
            } else {
                None
            };
            out.push(digit.map_or('0', |d| d as char));
        }
    }
}

fn format_e(out: &mut String, digits: &[u8], dp: i32, precision: usize) {
    out.push(digits.first().map_or('0', |d| *d as char));
    if precision > 0 {
        out.push('.');
        for i in 1..=precision {
            out.push(digits.get(i).map_or('0', |d| *d as char));
        }
    }
    out.push('e');
    let exponent = if digits.is_empty() { 0 } else { dp - 1 };
    out.push(if exponent < 0 { '-' } else { '+' });
    let magnitude = exponent.unsigned_abs();
    if magnitude < 10 {
        out.push('0');
    }
    out.push_str(&magnitude.to_string());
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`: what yaml.v2 writes for a float.
pub fn go_format_g(f: f64) -> String {
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if f == 0.0 {
        out.push('0');
        return out;
    }
    let (digits, dp) = shortest_digits(f);
    let exponent = dp - 1;
    if !(-4..6).contains(&exponent) {
        format_e(&mut out, &digits, dp, digits.len() - 1);
    } else {
        let precision = (digits.len() as i32 - dp).max(0) as usize;
        format_f(&mut out, &digits, dp, precision);
    }
    out
}

/// The text `encoding/json` writes for a float64.
pub fn go_json_float(f: f64) -> String {
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    if f == 0.0 {
        out.push('0');
        return out;
    }
    let (digits, dp) = shortest_digits(f);
    let abs = f.abs();
    if !(1e-6..1e21).contains(&abs) {
        format_e(&mut out, &digits, dp, digits.len() - 1);
        // encoding/json writes e-7, not e-07.
        let n = out.len();
        let bytes = out.as_bytes();
        if n >= 4 && bytes[n - 4] == b'e' && bytes[n - 3] == b'-' && bytes[n - 2] == b'0' {
            out.remove(n - 2);
        }
    } else {
        let precision = (digits.len() as i32 - dp).max(0) as usize;
        format_f(&mut out, &digits, dp, precision);
    }
    out
}

/// The integer a float becomes after Kustomize's JSON round trip (`2.0` is `2`), if it does.
pub fn integral(number: &Number) -> Option<Number> {
    let f = number.as_f64()?;
    if !number.is_f64() {
        return None;
    }
    let json = go_json_float(f);
    if json.contains(['.', 'e', 'E']) {
        return None;
    }
    json.parse::<i64>()
        .map(Number::from)
        .or_else(|_| json.parse::<u64>().map(Number::from))
        .ok()
}

/// How yaml.v2 prints a number after the JSON round trip: integral JSON text that fits 64 bits
/// stays an integer, everything else is a float in `%g` form.
pub fn yaml_number_text(number: &Number) -> String {
    if let Some(i) = number.as_i64() {
        return i.to_string();
    }
    if let Some(u) = number.as_u64() {
        return u.to_string();
    }
    let f = number.as_f64().unwrap_or(0.0);
    let json = go_json_float(f);
    if !json.contains(['.', 'e', 'E']) {
        if let Ok(i) = json.parse::<i64>() {
            return i.to_string();
        }
        if let Ok(u) = json.parse::<u64>() {
            return u.to_string();
        }
    }
    go_format_g(f)
}

/// The JSON text Go writes for a number held as `interface{}` after `json.Unmarshal` (a float64).
pub fn json_number_text(number: &Number) -> String {
    if let Some(i) = number.as_i64() {
        return i.to_string();
    }
    if let Some(u) = number.as_u64() {
        return u.to_string();
    }
    go_json_float(number.as_f64().unwrap_or(0.0))
}

/// Parses a yaml.v3 timestamp (`2006-1-2`, `2006-1-2T15:4:5.999999999Z07:00`, with `t` or a space
/// as separator) and returns it as Go's RFC 3339 text with nanoseconds, as `encoding/json` writes
/// a `time.Time`.
pub fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    // yaml.v3's quick check: four digits, then '-'.
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut cursor = Cursor { b, i: 5 };
    let year: i64 = s[..4].parse().ok()?;
    let month = cursor.number(1, 2)?;
    cursor.expect(b'-')?;
    let day = cursor.number(1, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if cursor.done() {
        return Some(format!("{date}T00:00:00Z"));
    }
    let separator = cursor.next()?;
    let zoned = match separator {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    let hour = cursor.number(1, 2)?;
    cursor.expect(b':')?;
    let minute = cursor.number(1, 2)?;
    cursor.expect(b':')?;
    let second = cursor.number(1, 2)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut fraction = String::new();
    if cursor.peek() == Some(b'.') && cursor.b.get(cursor.i + 1).is_some_and(u8::is_ascii_digit) {
        cursor.i += 1;
        while let Some(d) = cursor.peek().filter(u8::is_ascii_digit) {
            if fraction.len() < 9 {
                fraction.push(d as char);
            }
            cursor.i += 1;
        }
    }
    let fraction = fraction.trim_end_matches('0');
    let zone = if zoned {
        match cursor.next()? {
            b'Z' => "Z".to_string(),
            sign @ (b'+' | b'-') => {
                let hours = cursor.number(2, 2)?;
                cursor.expect(b':')?;
                let minutes = cursor.number(2, 2)?;
                if hours == 0 && minutes == 0 {
                    "Z".to_string()
                } else {
                    format!("{}{hours:02}:{minutes:02}", sign as char)
                }
            }
            _ => return None,
        }
    } else {
        "Z".to_string()
    };
    if !cursor.done() {
        return None;
    }
    let fraction = if fraction.is_empty() {
        String::new()
    } else {
        format!(".{fraction}")
    };
    Some(format!("{date}T{hour:02}:{minute:02}:{second:02}{fraction}{zone}"))
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }
    fn number(&mut self, min: usize, max: usize) -> Option<i64> {
        let start = self.i;
        while self.i - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.b[start..self.i]).ok()?.parse().ok()
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_integers() {
        assert_eq!(go_parse_int("0777"), Some(511.into()));
        assert_eq!(go_parse_int("0x1F"), Some(31.into()));
        assert_eq!(go_parse_int("-0b11"), Some((-3).into()));
        assert_eq!(go_parse_int("0"), Some(0.into()));
        assert_eq!(go_parse_int("08"), None);
        assert_eq!(go_parse_int("0x"), None);
        assert_eq!(
            go_parse_int("12345678901234567890"),
            Some(12345678901234567890u64.into())
        );
        assert_eq!(go_parse_int("+12345678901234567890"), None);
        assert_eq!(go_parse_int("-9223372036854775808"), Some(i64::MIN.into()));
    }

    #[test]
    fn formats_floats_like_go() {
        assert_eq!(go_format_g(1.25e-7), "1.25e-07");
        assert_eq!(go_format_g(123456789.123), "1.23456789123e+08");
        assert_eq!(go_format_g(0.1), "0.1");
        assert_eq!(go_format_g(1e23), "1e+23");
        assert_eq!(go_format_g(1.5), "1.5");
        assert_eq!(go_format_g(100000.5), "100000.5");
        assert_eq!(go_format_g(0.0001), "0.0001");
        assert_eq!(go_format_g(0.00001), "1e-05");
        assert_eq!(go_json_float(1.25e-7), "1.25e-7");
        assert_eq!(go_json_float(1e21), "1e+21");
        assert_eq!(go_json_float(1e20), "100000000000000000000");
        assert_eq!(go_json_float(-0.0), "-0");
        assert_eq!(go_json_float(0.5), "0.5");
    }

    #[test]
    fn prints_numbers_as_the_json_round_trip_leaves_them() {
        let n = |f: f64| yaml_number_text(&Number::from_f64(f).unwrap());
        assert_eq!(n(1.0), "1");
        assert_eq!(n(300.0), "300");
        assert_eq!(n(-0.0), "0");
        assert_eq!(n(1e20), "1e+20");
        assert_eq!(n(1.2345678901234567e19), "12345678901234567000");
        assert_eq!(n(1e6), "1000000");
        assert_eq!(n(12e9), "12000000000");
        assert_eq!(n(2e-5), "2e-05");
        assert_eq!(n(1e21), "1e+21");
    }

    #[test]
    fn parses_timestamps_like_yaml_v3() {
        assert_eq!(parse_timestamp("2023-01-01").as_deref(), Some("2023-01-01T00:00:00Z"));
        assert_eq!(parse_timestamp("2023-1-2").as_deref(), Some("2023-01-02T00:00:00Z"));
        assert_eq!(
            parse_timestamp("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14T21:59:43.1-05:00")
        );
        assert_eq!(
            parse_timestamp("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        assert_eq!(parse_timestamp("2023-02-30"), None);
        assert_eq!(parse_timestamp("2023-01-01x"), None);
        assert_eq!(parse_timestamp("12023-01-01"), None);
    }
}
