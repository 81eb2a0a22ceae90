//! The `time` global of Kluctl's time extension: `time.now()`, `time.utcnow()`,
//! `time.parse_iso(s)`, `time.second` / `minute` / `hour` (microsecond counts), and time values
//! with `as_timezone`, `weekday`, `hour`, `minute`, `second`, `nanosecond`, `isoformat`,
//! `strftime`, comparisons, and `add(us)` / `sub(us)`.
//!
//! Input: calls from templates; output: [`SimpleTime`] objects printing as ISO 8601.
//! minijinja has no operator overloading for objects, so Kluctl's `t + time.hour` is written
//! `t.add(time.hour)` here (the README lists this difference).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use minijinja::value::{DynObject, Object, Value, from_args};
use minijinja::{Error, ErrorKind, State};
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// A point in time, naive (like Python's `datetime.now()`) or with a UTC offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SimpleTime {
    /// No time zone.
    Naive(NaiveDateTime),
    /// With a fixed UTC offset.
    Aware(DateTime<FixedOffset>),
}

impl SimpleTime {
    /// Parses what Python's `datetime.fromisoformat` accepts in practice.
    pub fn parse_iso(s: &str) -> Result<SimpleTime, String> {
        let t = s.trim();
        let zulu = t.strip_suffix('Z').map(|p| format!("{p}+00:00"));
        let t2 = zulu.as_deref().unwrap_or(t).replacen(' ', "T", 1);
        if let Ok(dt) = DateTime::parse_from_rfc3339(&t2) {
            return Ok(SimpleTime::Aware(dt));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z", "%Y-%m-%dT%H%:z"] {
            if let Ok(dt) = DateTime::parse_from_str(&t2, fmt) {
                return Ok(SimpleTime::Aware(dt));
            }
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H"] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(&t2, fmt) {
                return Ok(SimpleTime::Naive(dt));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(&t2, "%Y-%m-%d") {
            return Ok(SimpleTime::Naive(d.and_hms_opt(0, 0, 0).expect("midnight exists")));
        }
        Err(format!("Invalid isoformat string: {s:?}"))
    }

    fn naive(&self) -> NaiveDateTime {
        match self {
            SimpleTime::Naive(n) => *n,
            SimpleTime::Aware(a) => a.naive_local(),
        }
    }

    fn shifted(&self, micros: i64) -> SimpleTime {
        let d = Duration::microseconds(micros);
        match self {
            SimpleTime::Naive(n) => SimpleTime::Naive(*n + d),
            SimpleTime::Aware(a) => SimpleTime::Aware(*a + d),
        }
    }

    /// Python's `isoformat()`.
    pub fn isoformat(&self) -> String {
        let n = self.naive();
        let mut s = n.format("%Y-%m-%dT%H:%M:%S").to_string();
        let micros = n.nanosecond() / 1000;
        if micros != 0 {
            s.push_str(&format!(".{micros:06}"));
        }
        if let SimpleTime::Aware(a) = self {
            s.push_str(&a.format("%:z").to_string());
        }
        s
    }
}

impl fmt::Display for SimpleTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat())
    }
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

fn parse_offset(tz: &str) -> Option<FixedOffset> {
    match tz {
        "UTC" | "Etc/UTC" | "GMT" | "Z" => FixedOffset::east_opt(0),
        _ => {
            let t = DateTime::parse_from_str(&format!("2000-01-01T00:00:00{tz}"), "%Y-%m-%dT%H:%M:%S%:z").ok()?;
            Some(*t.offset())
        }
    }
}

impl Object for SimpleTime {
    fn repr(self: &Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        let n = self.naive();
        match method {
            "weekday" | "hour" | "minute" | "second" | "nanosecond" | "isoformat" => {
                let _: () = from_args(args)?;
            }
            _ => {}
        }
        Ok(match method {
            "weekday" => Value::from(n.weekday().num_days_from_monday()),
            "hour" => Value::from(n.hour()),
            "minute" => Value::from(n.minute()),
            "second" => Value::from(n.second()),
            "nanosecond" => Value::from((n.nanosecond() / 1000) * 1000),
            "isoformat" => Value::from(self.isoformat()),
            "strftime" => {
                let (fmt,): (String,) = from_args(args)?;
                let mut out = String::new();
                let rendered = match &**self {
                    SimpleTime::Naive(n) => n.format(&fmt),
                    SimpleTime::Aware(a) => a.naive_local().format(&fmt),
                };
                fmt::write(&mut out, format_args!("{rendered}"))
                    .map_err(|_| invalid(format!("strftime: invalid format {fmt:?}")))?;
                Value::from(out)
            }
            "as_timezone" => {
                let (tz,): (String,) = from_args(args)?;
                let offset = parse_offset(&tz).ok_or_else(|| {
                    invalid(format!(
                        "as_timezone: unknown time zone {tz:?} (use \"UTC\" or an offset such as \"+02:00\")"
                    ))
                })?;
                let aware = match &**self {
                    SimpleTime::Aware(a) => a.with_timezone(&offset),
                    SimpleTime::Naive(n) => {
                        // Python treats a naive time as local time when converting.
                        let local = n
                            .and_local_timezone(chrono::Local)
                            .single()
                            .ok_or_else(|| invalid("as_timezone: the local time is ambiguous"))?;
                        local.with_timezone(&offset)
                    }
                };
                Value::from_object(SimpleTime::Aware(aware))
            }
            "add" | "sub" => {
                let (micros,): (i64,) = from_args(args)?;
                let micros = if method == "sub" { -micros } else { micros };
                Value::from_object(self.shifted(micros))
            }
            _ => return Err(Error::from(ErrorKind::UnknownMethod)),
        })
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        let other = other.downcast_ref::<SimpleTime>()?;
        match (&**self, other) {
            (SimpleTime::Aware(a), SimpleTime::Aware(b)) => Some(a.cmp(b)),
            (a, b) => Some(a.naive().cmp(&b.naive())),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.isoformat())
    }
}

#[derive(Debug)]
struct TimeModule;

impl Object for TimeModule {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "second" => Some(Value::from(1_000_000i64)),
            "minute" => Some(Value::from(60_000_000i64)),
            "hour" => Some(Value::from(3_600_000_000i64)),
            _ => None,
        }
    }

    fn call_method(self: &Arc<Self>, _state: &mut State<'_, '_>, method: &str, args: &[Value]) -> Result<Value, Error> {
        match method {
            "now" => {
                let _: () = from_args(args)?;
                Ok(Value::from_object(SimpleTime::Naive(
                    chrono::Local::now().naive_local(),
                )))
            }
            "utcnow" => {
                let _: () = from_args(args)?;
                Ok(Value::from_object(SimpleTime::Naive(chrono::Utc::now().naive_utc())))
            }
            "parse_iso" => {
                let (s,): (String,) = from_args(args)?;
                SimpleTime::parse_iso(&s).map(Value::from_object).map_err(invalid)
            }
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }
}

/// The `time` global.
pub fn time_global() -> Value {
    Value::from_object(TimeModule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_like_python_isoformat() {
        for (input, want) in [
            ("2024-03-01T10:20:30", "2024-03-01T10:20:30"),
            ("2024-03-01T10:20:30.5+02:00", "2024-03-01T10:20:30.500000+02:00"),
            ("2024-03-01T10:20:30Z", "2024-03-01T10:20:30+00:00"),
            ("2024-03-01", "2024-03-01T00:00:00"),
        ] {
            assert_eq!(SimpleTime::parse_iso(input).unwrap().isoformat(), want, "{input}");
        }
        assert!(SimpleTime::parse_iso("yesterday").is_err());
    }
}
