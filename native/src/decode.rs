//! The entry decoder, compiled: `EntryFiling.model_validate_json` for the common shape of
//! a filing, building the very objects pydantic builds.
//!
//! It only ever *accepts*: an input it is not sure about (any validation failure, a JSON
//! string with escapes, a number written as a string, a time in another format, an offset
//! no zone uses) makes it answer None, and the caller hands the bytes to pydantic, which
//! accepts them or says precisely what is wrong. So it must never accept what pydantic
//! refuses, and never build a different object from what pydantic would; the field rules
//! (patterns, lengths, allowed values, bounds) come from the models' own JSON Schema, and
//! `tests/unit/test_native_decoder.py` compares both on generated and mutated inputs.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Mutex;

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyDict, PySet, PyString, PyTuple, PyType, PyTzInfo};
use regex::Regex;

use crate::filing::{Filing, FilingBond, FilingLine};
use rustc_hash::FxHashMap;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// A field that may be absent, null or given (pydantic records the given ones, null
/// included, in `model_fields_set`).
#[derive(Default)]
enum Field<T> {
    #[default]
    Absent,
    Null,
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            None => Field::Null,
            Some(value) => Field::Value(value),
        })
    }
}

impl<T> Field<T> {
    fn given(&self) -> bool {
        !matches!(self, Field::Absent)
    }
}

/// A JSON number read as pydantic reads it into a float field: integers up to 2**53
/// (exactly representable) and decimals, correctly rounded. Anything else is refused.
struct Number(f64);

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl<'de> Visitor<'de> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                if v <= 1 << 53 {
                    Ok(Number(v as f64))
                } else {
                    Err(E::custom("integer too large to be exact"))
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        deserializer.deserialize_any(NumberVisitor)
    }
}

// Strings are borrowed from the input: one with an escape sequence fails to borrow, and
// the whole entry goes to pydantic.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBond<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    amount_usd: Number,
    #[serde(default, borrow)]
    surety_code: Field<&'a str>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine<'a> {
    line_number: u64,
    hts: &'a str,
    country_of_origin: &'a str,
    entered_value_usd: Number,
    #[serde(default, borrow)]
    manufacturer_id: Field<&'a str>,
    #[serde(default, borrow)]
    manufacturer_name: Field<&'a str>,
    #[serde(default, borrow)]
    manufacturer_address: Field<&'a str>,
    #[serde(default, borrow)]
    adcvd_case: Field<&'a str>,
    #[serde(default, borrow)]
    pga_codes: Field<Vec<&'a str>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry<'a> {
    entry_number: &'a str,
    entry_type: &'a str,
    filed_at: &'a str,
    port_code: &'a str,
    ior_number: &'a str,
    #[serde(default, borrow)]
    broker_filer_code: Field<&'a str>,
    #[serde(default, borrow)]
    bond: Field<RawBond<'a>>,
    entered_value_usd: Number,
    #[serde(default)]
    duties_taxes_fees_usd: Field<Number>,
    #[serde(default, borrow)]
    export_declaration_ref: Field<&'a str>,
    #[serde(default, borrow)]
    supply_chain_cert_ref: Field<&'a str>,
    #[serde(borrow)]
    lines: Vec<RawLine<'a>>,
    #[serde(default)]
    revision: Field<u64>,
    #[serde(default, borrow)]
    shipper_name: Field<&'a str>,
    #[serde(default, borrow)]
    shipper_country: Field<&'a str>,
}

/// The JSON Schema constraints of one string field.
struct StrRule {
    pattern: Option<Regex>,
    min_chars: usize,
    max_chars: usize,
    values: Option<HashSet<String>>,
}

impl StrRule {
    fn from_schema(rule: &Bound<'_, PyDict>) -> PyResult<Self> {
        let pattern = match rule.get_item("pattern")? {
            Some(p) => Some(
                Regex::new(&p.extract::<String>()?)
                    .map_err(|e| PyValueError::new_err(format!("pattern: {e}")))?,
            ),
            None => None,
        };
        let values = match rule.get_item("enum")? {
            Some(v) => Some(v.extract::<Vec<String>>()?.into_iter().collect()),
            None => None,
        };
        Ok(StrRule {
            pattern,
            min_chars: rule
                .get_item("minLength")?
                .map(|v| v.extract())
                .transpose()?
                .unwrap_or(0),
            max_chars: rule
                .get_item("maxLength")?
                .map(|v| v.extract())
                .transpose()?
                .unwrap_or(usize::MAX),
            values,
        })
    }

    fn accepts(&self, text: &str) -> bool {
        if self.min_chars > 0 || self.max_chars < usize::MAX {
            // pydantic counts characters, not bytes
            let chars = if text.is_ascii() {
                text.len()
            } else {
                text.chars().count()
            };
            if chars < self.min_chars || chars > self.max_chars {
                return false;
            }
        }
        if let Some(values) = &self.values {
            if !values.contains(text) {
                return false;
            }
        }
        match &self.pattern {
            Some(p) => p.is_match(text),
            None => true,
        }
    }
}

struct NumRule {
    min: f64,
    max: f64,
}

impl NumRule {
    fn from_schema(rule: &Bound<'_, PyDict>) -> PyResult<Self> {
        Ok(NumRule {
            min: rule
                .get_item("minimum")?
                .map(|v| v.extract())
                .transpose()?
                .unwrap_or(f64::NEG_INFINITY),
            max: rule
                .get_item("maximum")?
                .map(|v| v.extract())
                .transpose()?
                .unwrap_or(f64::INFINITY),
        })
    }

    /// Negative zero passes pydantic's `ge=0` but is left to it all the same.
    fn accepts(&self, value: f64) -> bool {
        value.is_finite() && !value.is_sign_negative() && value >= self.min && value <= self.max
    }

    fn accepts_int(&self, value: u64) -> bool {
        (value as f64) >= self.min && (value as f64) <= self.max
    }
}

struct Model {
    class: Py<PyType>,
    fields: Vec<Py<PyString>>,
}

/// Frozen (no `&mut self`), so the batch run's decode-ahead thread can call `check` on
/// it without the GIL while the loop's thread reads filing times through it.
#[pyclass(module = "screening_native", frozen)]
pub struct EntryDecoder {
    entry: Model,
    line: Model,
    bond: Model,
    entry_number: StrRule,
    entry_type: StrRule,
    port_code: StrRule,
    ior_number: StrRule,
    broker_filer_code: StrRule,
    money: NumRule,
    reference: StrRule,
    lines_count: NumRule,
    revision: NumRule,
    name: StrRule,
    country: StrRule,
    line_number: NumRule,
    hts: StrRule,
    manufacturer_id: StrRule,
    address: StrRule,
    adcvd_case: StrRule,
    pga_code: StrRule,
    pga_count: NumRule,
    bond_type: StrRule,
    surety_code: StrRule,
    adcvd_form: Regex,
    zone_class: Py<PyAny>,
    zones: Mutex<FxHashMap<i32, Py<PyTzInfo>>>,
}

const ENTRY_FIELDS: [&str; 15] = [
    "entry_number",
    "entry_type",
    "filed_at",
    "port_code",
    "ior_number",
    "broker_filer_code",
    "bond",
    "entered_value_usd",
    "duties_taxes_fees_usd",
    "export_declaration_ref",
    "supply_chain_cert_ref",
    "lines",
    "revision",
    "shipper_name",
    "shipper_country",
];
const LINE_FIELDS: [&str; 9] = [
    "line_number",
    "hts",
    "country_of_origin",
    "entered_value_usd",
    "manufacturer_id",
    "manufacturer_name",
    "manufacturer_address",
    "adcvd_case",
    "pga_codes",
];
const BOND_FIELDS: [&str; 3] = ["type", "amount_usd", "surety_code"];
/// In `Filing::given`, past the entry's own fields: the bond's surety code was given.
const BOND_SURETY_GIVEN: u16 = 1 << 15;

fn model(class: &Bound<'_, PyType>, expected: &[&str]) -> PyResult<Model> {
    let py = class.py();
    let names: Vec<String> = class
        .getattr("model_fields")?
        .call_method0("keys")?
        .try_iter()?
        .map(|n| n?.extract())
        .collect::<PyResult<_>>()?;
    if names != expected {
        return Err(PyValueError::new_err(format!(
            "{} has fields {names:?}; the native decoder knows {expected:?}",
            class.name()?
        )));
    }
    if !class.getattr("__pydantic_post_init__")?.is_none() {
        return Err(PyValueError::new_err(
            "a model with a post-init hook is left to pydantic",
        ));
    }
    Ok(Model {
        class: class.clone().unbind(),
        fields: expected
            .iter()
            .map(|n| PyString::intern(py, n).unbind())
            .collect(),
    })
}

/// Check digit of an entry number (filer code + 7-digit serial; letters map A-I to 1-9,
/// J-R to 1-9, S-Z to 2-9; the 2nd, 4th, ... characters doubled, digits of products summed).
fn check_digit(filer_and_serial: &[u8]) -> u32 {
    let mut total = 0;
    for (i, &c) in filer_and_serial.iter().enumerate() {
        let value = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'I' => (c - b'A') as u32 + 1,
            b'J'..=b'R' => (c - b'J') as u32 + 1,
            b'S'..=b'Z' => (c - b'S') as u32 + 2,
            _ => unreachable!("the pattern admits capitals and digits only"),
        };
        total += if i % 2 == 1 {
            if 2 * value > 9 {
                2 * value - 9
            } else {
                2 * value
            }
        } else {
            value
        };
    }
    (10 - total % 10) % 10
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM)` with a real calendar date and an offset
/// some zone uses (hours up to 14, minutes 00/15/30/45); None for anything else.
pub struct Stamp {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    microsecond: u32,
    offset_seconds: i32,
}

impl Stamp {
    /// The activity counter's day of this time (`screening.activity._day`): the calendar
    /// date in UTC, else `int(at.timestamp()) // 86400`, computed as Python computes it.
    pub fn day_number(&self) -> i64 {
        let days =
            crate::activity::days_from_civil(self.year as i64, self.month as i64, self.day as i64);
        if self.offset_seconds == 0 {
            return days;
        }
        let seconds =
            days * 86_400 + self.hour as i64 * 3_600 + self.minute as i64 * 60 + self.second as i64
                - self.offset_seconds as i64;
        let timestamp = (seconds * 1_000_000 + self.microsecond as i64) as f64 / 1e6;
        (timestamp.trunc() as i64).div_euclid(86_400)
    }
}

fn parse_stamp(text: &str) -> Option<Stamp> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = b.get(range)?;
        let mut n = 0;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + (c - b'0') as u32;
        }
        Some(n)
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let year = digits(0..4)? as i32;
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    let hour = digits(11..13)?;
    let minute = digits(14..16)?;
    let second = digits(17..19)?;
    if year < 1
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut i = 19;
    let mut microsecond = 0;
    if b[i] == b'.' {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        let count = end - start;
        if count == 0 || count > 6 {
            return None;
        }
        microsecond = digits(start..end)? * 10u32.pow((6 - count) as u32);
        i = end;
    }
    let offset_seconds = match &b[i..] {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = digits(i + 1..i + 3)?;
            let minutes = digits(i + 4..i + 6)?;
            if hours > 14 || !matches!(minutes, 0 | 15 | 30 | 45) {
                return None;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    Some(Stamp {
        year,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: minute as u8,
        second: second as u8,
        microsecond,
        offset_seconds,
    })
}

/// `object.__setattr__`, past the frozen model's own `__setattr__`, as pydantic does.
fn force_setattr(
    obj: &Bound<'_, PyAny>,
    name: &Bound<'_, PyString>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let py = obj.py();
    // Safety: all three pointers are live objects owned by this thread's GIL scope.
    let status =
        unsafe { ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) };
    if status == -1 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

fn instance<'py>(
    py: Python<'py>,
    model: &Model,
    values: Vec<Bound<'py, PyAny>>,
    given: u16,
) -> PyResult<Bound<'py, PyAny>> {
    let class = model.class.bind(py);
    let tp = class.as_type_ptr();
    // Safety: `tp` is a live type object; tp_new with empty args and no kwargs is how
    // pydantic-core itself creates model instances before setting their attributes.
    let obj = unsafe {
        let new = (*tp)
            .tp_new
            .ok_or_else(|| PyValueError::new_err("type without tp_new"))?;
        let args = PyTuple::empty(py);
        Bound::from_owned_ptr_or_err(py, new(tp, args.as_ptr(), std::ptr::null_mut()))?
    };
    let dict = PyDict::new(py);
    let fields_set = PySet::empty(py)?;
    for (index, value) in values.into_iter().enumerate() {
        let name = model.fields[index].bind(py);
        dict.set_item(name, value)?;
        if given & (1 << index) != 0 {
            fields_set.add(name)?;
        }
    }
    let none = py.None().into_bound(py);
    force_setattr(&obj, intern!(py, "__dict__"), &dict)?;
    force_setattr(&obj, intern!(py, "__pydantic_extra__"), &none)?;
    force_setattr(&obj, intern!(py, "__pydantic_private__"), &none)?;
    force_setattr(&obj, intern!(py, "__pydantic_fields_set__"), &fields_set)?;
    Ok(obj)
}

/// An optional string field: None when given and refused, else its value (absent and null
/// both read as no value).
fn checked<'a>(field: &Field<&'a str>, rule: &StrRule) -> Option<Option<Cow<'a, str>>> {
    match field {
        Field::Value(text) if rule.accepts(text) => Some(Some(Cow::Borrowed(*text))),
        Field::Value(_) => None,
        _ => Some(None),
    }
}

/// `formats.canonical_adcvd_case` for the plain ASCII forms (`A-570-983-001`, `a570983`):
/// capitals, dashes dropped. None for anything it does not read the same way for certain.
fn canonical_adcvd(raw: &str, pattern: &Regex) -> Option<String> {
    if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    let upper = raw.to_ascii_uppercase();
    let found = pattern.captures(&upper)?;
    Some(found.iter().skip(1).flatten().map(|m| m.as_str()).collect())
}

fn str_obj<'py>(py: Python<'py>, text: &Option<Cow<'_, str>>) -> Bound<'py, PyAny> {
    match text {
        Some(t) => PyString::new(py, t).into_any(),
        None => py.None().into_bound(py),
    }
}

impl EntryDecoder {
    /// The filing in `data` if every field passes the models' rules, else None.
    pub fn check<'a>(&self, data: &'a [u8]) -> Option<(Filing<'a>, Stamp)> {
        let raw: RawEntry<'a> = serde_json::from_slice(data).ok()?;
        // The entry number: its shape, then its check digit; the dashed form is kept.
        if !self.entry_number.accepts(raw.entry_number) {
            return None;
        }
        let number = raw.entry_number.as_bytes();
        let (body, digit) = if number.len() == 13 {
            ([&number[0..3], &number[4..11]].concat(), number[12])
        } else {
            (number[0..10].to_vec(), number[10])
        };
        if (digit - b'0') as u32 != check_digit(&body) {
            return None;
        }
        let entry_number = if number.len() == 13 {
            Cow::Borrowed(raw.entry_number)
        } else {
            let n = raw.entry_number;
            Cow::Owned(format!("{}-{}-{}", &n[0..3], &n[3..10], &n[10..11]))
        };
        if !self.entry_type.accepts(raw.entry_type)
            || !self.port_code.accepts(raw.port_code)
            || !self.ior_number.accepts(raw.ior_number)
            || !self.money.accepts(raw.entered_value_usd.0)
            || !self.lines_count.accepts_int(raw.lines.len() as u64)
        {
            return None;
        }
        let stamp = parse_stamp(raw.filed_at)?;
        let revision = match raw.revision {
            Field::Null => return None,
            Field::Absent => 0,
            Field::Value(r) if self.revision.accepts_int(r) => r,
            Field::Value(_) => return None,
        };
        let duties = match &raw.duties_taxes_fees_usd {
            Field::Value(Number(v)) if !self.money.accepts(*v) => return None,
            Field::Value(Number(v)) => Some(*v),
            _ => None,
        };
        let bond = match &raw.bond {
            Field::Value(b) => {
                if !self.bond_type.accepts(b.kind) || !self.money.accepts(b.amount_usd.0) {
                    return None;
                }
                Some(FilingBond {
                    kind: Cow::Borrowed(b.kind),
                    amount_usd: b.amount_usd.0,
                    surety_code: checked(&b.surety_code, &self.surety_code)?,
                })
            }
            _ => None,
        };
        let mut lines = Vec::with_capacity(raw.lines.len());
        for line in &raw.lines {
            if lines
                .iter()
                .any(|l: &FilingLine<'_>| l.line_number == line.line_number)
            {
                return None; // line numbers must be unique
            }
            if !self.line_number.accepts_int(line.line_number)
                || !self.hts.accepts(line.hts)
                || !self.country.accepts(line.country_of_origin)
                || !self.money.accepts(line.entered_value_usd.0)
            {
                return None;
            }
            let adcvd_case = match line.adcvd_case {
                Field::Value(text) if self.adcvd_case.accepts(text) => {
                    Some(Cow::Owned(canonical_adcvd(text, &self.adcvd_form)?))
                }
                Field::Value(_) => return None,
                _ => None,
            };
            let pga_codes = match &line.pga_codes {
                Field::Null => return None,
                Field::Absent => Vec::new(),
                Field::Value(codes) => {
                    if !self.pga_count.accepts_int(codes.len() as u64)
                        || !codes.iter().all(|c| self.pga_code.accepts(c))
                    {
                        return None;
                    }
                    codes.iter().map(|c| Cow::Borrowed(*c)).collect()
                }
            };
            let mut given = 0b1111;
            for (index, field) in [
                (4, line.manufacturer_id.given()),
                (5, line.manufacturer_name.given()),
                (6, line.manufacturer_address.given()),
                (7, line.adcvd_case.given()),
                (8, line.pga_codes.given()),
            ] {
                given |= (field as u16) << index;
            }
            lines.push(FilingLine {
                line_number: line.line_number,
                hts: Cow::Borrowed(line.hts),
                country_of_origin: Cow::Borrowed(line.country_of_origin),
                entered_value_usd: line.entered_value_usd.0,
                manufacturer_id: checked(&line.manufacturer_id, &self.manufacturer_id)?,
                manufacturer_name: checked(&line.manufacturer_name, &self.name)?,
                manufacturer_address: checked(&line.manufacturer_address, &self.address)?,
                adcvd_case,
                pga_codes,
                given,
            });
        }
        let mut given: u16 =
            (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 7) | (1 << 11);
        if let Field::Value(b) = &raw.bond {
            if b.surety_code.given() {
                given |= BOND_SURETY_GIVEN;
            }
        }
        for (index, field) in [
            (5, raw.broker_filer_code.given()),
            (6, raw.bond.given()),
            (8, raw.duties_taxes_fees_usd.given()),
            (9, raw.export_declaration_ref.given()),
            (10, raw.supply_chain_cert_ref.given()),
            (12, raw.revision.given()),
            (13, raw.shipper_name.given()),
            (14, raw.shipper_country.given()),
        ] {
            given |= (field as u16) << index;
        }
        let filing = Filing {
            entry_number,
            entry_type: Cow::Borrowed(raw.entry_type),
            port_code: Cow::Borrowed(raw.port_code),
            ior_number: Cow::Borrowed(raw.ior_number),
            broker_filer_code: checked(&raw.broker_filer_code, &self.broker_filer_code)?,
            bond,
            entered_value_usd: raw.entered_value_usd.0,
            duties_taxes_fees_usd: duties,
            export_declaration_ref: checked(&raw.export_declaration_ref, &self.reference)?,
            supply_chain_cert_ref: checked(&raw.supply_chain_cert_ref, &self.reference)?,
            lines,
            revision,
            shipper_name: checked(&raw.shipper_name, &self.name)?,
            shipper_country: checked(&raw.shipper_country, &self.country)?,
            given,
        };
        Some((filing, stamp))
    }

    /// The filing time as the aware `datetime` pydantic builds (its own zone class).
    pub fn datetime<'py>(
        &self,
        py: Python<'py>,
        stamp: &Stamp,
    ) -> PyResult<Bound<'py, PyDateTime>> {
        let known = self
            .zones
            .lock()
            .expect("the zones are never left half-written")
            .get(&stamp.offset_seconds)
            .map(|zone| zone.clone_ref(py));
        let zone = match known {
            Some(zone) => zone.into_bound(py),
            None => {
                let zone = self
                    .zone_class
                    .bind(py)
                    .call1((stamp.offset_seconds,))?
                    .downcast_into::<PyTzInfo>()?;
                self.zones
                    .lock()
                    .expect("the zones are never left half-written")
                    .insert(stamp.offset_seconds, zone.clone().unbind());
                zone
            }
        };
        PyDateTime::new(
            py,
            stamp.year,
            stamp.month,
            stamp.day,
            stamp.hour,
            stamp.minute,
            stamp.second,
            stamp.microsecond,
            Some(&zone),
        )
    }

    /// The `EntryFiling` model of a checked filing, attribute for attribute pydantic's.
    fn model<'py>(
        &self,
        py: Python<'py>,
        f: &Filing<'_>,
        stamp: &Stamp,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut lines = Vec::with_capacity(f.lines.len());
        for line in &f.lines {
            let values = vec![
                line.line_number.into_pyobject(py)?.into_any(),
                PyString::new(py, &line.hts).into_any(),
                PyString::new(py, &line.country_of_origin).into_any(),
                line.entered_value_usd.into_pyobject(py)?.into_any(),
                str_obj(py, &line.manufacturer_id),
                str_obj(py, &line.manufacturer_name),
                str_obj(py, &line.manufacturer_address),
                str_obj(py, &line.adcvd_case),
                PyTuple::new(py, line.pga_codes.iter().map(|c| PyString::new(py, c)))?.into_any(),
            ];
            lines.push(instance(py, &self.line, values, line.given)?);
        }
        let bond = match &f.bond {
            Some(b) => {
                let values = vec![
                    PyString::new(py, &b.kind).into_any(),
                    b.amount_usd.into_pyobject(py)?.into_any(),
                    str_obj(py, &b.surety_code),
                ];
                let given = if f.given & BOND_SURETY_GIVEN != 0 {
                    0b111
                } else {
                    0b011
                };
                instance(py, &self.bond, values, given)?
            }
            None => py.None().into_bound(py),
        };
        let values = vec![
            PyString::new(py, &f.entry_number).into_any(),
            PyString::new(py, &f.entry_type).into_any(),
            self.datetime(py, stamp)?.into_any(),
            PyString::new(py, &f.port_code).into_any(),
            PyString::new(py, &f.ior_number).into_any(),
            str_obj(py, &f.broker_filer_code),
            bond,
            f.entered_value_usd.into_pyobject(py)?.into_any(),
            match f.duties_taxes_fees_usd {
                Some(v) => v.into_pyobject(py)?.into_any(),
                None => py.None().into_bound(py),
            },
            str_obj(py, &f.export_declaration_ref),
            str_obj(py, &f.supply_chain_cert_ref),
            PyTuple::new(py, lines)?.into_any(),
            f.revision.into_pyobject(py)?.into_any(),
            str_obj(py, &f.shipper_name),
            str_obj(py, &f.shipper_country),
        ];
        instance(py, &self.entry, values, f.given)
    }
}

fn rule<'py>(rules: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyDict>> {
    rules
        .get_item(key)?
        .ok_or_else(|| PyValueError::new_err(format!("no schema rule for {key}")))?
        .downcast_into::<PyDict>()
        .map_err(Into::into)
}

fn items_rule<'py>(rules: &Bound<'py, PyDict>, key: &str) -> PyResult<Bound<'py, PyDict>> {
    rule(rules, key)?
        .get_item("items")?
        .ok_or_else(|| PyValueError::new_err(format!("no item rule for {key}")))?
        .downcast_into::<PyDict>()
        .map_err(Into::into)
}

fn count_rule(rule: &Bound<'_, PyDict>) -> PyResult<NumRule> {
    Ok(NumRule {
        min: rule
            .get_item("minItems")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or(0.0),
        max: rule
            .get_item("maxItems")?
            .map(|v| v.extract())
            .transpose()?
            .unwrap_or(f64::INFINITY),
    })
}

#[pymethods]
impl EntryDecoder {
    /// `rules`: each field's JSON Schema constraints by "Model.field" (see
    /// `schemas/native_decoder.py`); `adcvd_form`: the AD/CVD case number's pattern in
    /// `schemas.formats`, anchored; `zone`: the zone class pydantic gives parsed times
    /// (`pydantic_core.TzInfo`).
    #[new]
    fn new(
        entry: &Bound<'_, PyType>,
        line: &Bound<'_, PyType>,
        bond: &Bound<'_, PyType>,
        rules: &Bound<'_, PyDict>,
        adcvd_form: &Bound<'_, PyAny>,
        zone: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let s = |key: &str| StrRule::from_schema(&rule(rules, key)?);
        let n = |key: &str| NumRule::from_schema(&rule(rules, key)?);
        let money = n("EntryFiling.entered_value_usd")?;
        for key in [
            "EntryLine.entered_value_usd",
            "Bond.amount_usd",
            "EntryFiling.duties_taxes_fees_usd",
        ] {
            let other = n(key)?;
            if other.min != money.min || other.max != money.max {
                return Err(PyValueError::new_err(format!(
                    "{key} is not money as the decoder knows it"
                )));
            }
        }
        let name = s("EntryFiling.shipper_name")?;
        let other_name = s("EntryLine.manufacturer_name")?;
        let reference = s("EntryFiling.export_declaration_ref")?;
        let other_reference = s("EntryFiling.supply_chain_cert_ref")?;
        let country = s("EntryLine.country_of_origin")?;
        let other_country = s("EntryFiling.shipper_country")?;
        if (name.min_chars, name.max_chars) != (other_name.min_chars, other_name.max_chars)
            || (reference.min_chars, reference.max_chars)
                != (other_reference.min_chars, other_reference.max_chars)
            || country.values != other_country.values
        {
            return Err(PyValueError::new_err(
                "fields the decoder checks alike differ in the models",
            ));
        }
        Ok(EntryDecoder {
            entry: model(entry, &ENTRY_FIELDS)?,
            line: model(line, &LINE_FIELDS)?,
            bond: model(bond, &BOND_FIELDS)?,
            entry_number: s("EntryFiling.entry_number")?,
            entry_type: s("EntryFiling.entry_type")?,
            port_code: s("EntryFiling.port_code")?,
            ior_number: s("EntryFiling.ior_number")?,
            broker_filer_code: s("EntryFiling.broker_filer_code")?,
            money,
            reference,
            lines_count: count_rule(&rule(rules, "EntryFiling.lines")?)?,
            revision: n("EntryFiling.revision")?,
            name,
            country,
            line_number: n("EntryLine.line_number")?,
            hts: s("EntryLine.hts")?,
            manufacturer_id: s("EntryLine.manufacturer_id")?,
            address: s("EntryLine.manufacturer_address")?,
            adcvd_case: s("EntryLine.adcvd_case")?,
            pga_code: StrRule::from_schema(&items_rule(rules, "EntryLine.pga_codes")?)?,
            pga_count: count_rule(&rule(rules, "EntryLine.pga_codes")?)?,
            bond_type: s("Bond.type")?,
            surety_code: s("Bond.surety_code")?,
            adcvd_form: Regex::new(&adcvd_form.extract::<String>()?)
                .map_err(|e| PyValueError::new_err(format!("AD/CVD case form: {e}")))?,
            zone_class: zone.clone().unbind(),
            zones: Mutex::new(FxHashMap::default()),
        })
    }

    /// The `EntryFiling` pydantic would build from `data`, or None: then ask pydantic.
    fn decode<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.check(data) {
            Some((filing, stamp)) => Ok(Some(self.model(py, &filing, &stamp)?)),
            None => Ok(None),
        }
    }
}
